"""Domain errors and per-patient result codes.

Every error a user can cause is a :class:`NeuroplastInputError`: it names the file, the
field and the offending value, so the CLI can print it as one line and exit with status 2.
"""

from __future__ import annotations

import enum


class NeuroplastInputError(ValueError):
    """Bad user input: names the file, the field and the value, and suggests the fix."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None, file: str | None = None):
        self.message = message
        self.field = field
        self.value = value
        self.file = file
        super().__init__(self.one_line())

    def with_file(self, file: str | None) -> NeuroplastInputError:
        if file is not None and self.file is None:
            self.file = str(file)
            self.args = (self.one_line(),)
        return self

    def one_line(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(f"field '{self.field}'")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        prefix = ": ".join([", ".join(where)]) if where else ""
        text = f"{prefix}: {self.message}" if prefix else self.message
        return " ".join(text.split())


class DoseCeilingError(NeuroplastInputError):
    """A dose above the safety ceiling of its drug and route (override: allow_high_dose)."""


class PatientStatus(enum.IntEnum):
    """Per-patient result codes of a cohort run (a failed patient is flagged, never averaged)."""

    ok = 0
    solver_failed = 1  # step limit or solver error (diffrax RESULTS != successful)
    non_finite = 2  # NaN or inf in the saved trajectory
