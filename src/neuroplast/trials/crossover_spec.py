"""The trial file's ``[trial.crossover]`` table and the crossover it resolves to (docs/trial-format.md).

A crossover gives every patient every arm, one per period, in the order of the patient's sequence. Period ``k``
(0-based) starts at ``k * (period + washout)`` hours; its first dose is the period's time 0, from which its
timepoints count. :func:`resolve_crossover` checks the table against the arms and returns a
:class:`CrossoverDesign`: times in hours, the sequences, and each sequence's regimen (the arms' regimens,
shifted to their periods and concatenated).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Annotated

import numpy as np
import pydantic

from .._errors import NeuroplastInputError
from .._units import parse_quantity
from ..regimen import Regimen, Session
from ..regimen.guardrails import check_window

MAX_DEFAULT_ARMS = 4
"""The most arms whose every order is the default set of sequences (4 arms: 24 sequences); with more, the file
names its sequences (e.g. a Williams design)."""
MAX_SEQUENCES = 1000


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class CrossoverSpec(_Strict):
    """``[trial.crossover]``: ``washout`` (a time, required unless ``[trial] washout`` gives it), ``period`` (each
    period's observation window from its first dose; default: the last timepoint or the end of the last dose,
    whichever is later) and ``sequences`` (lists of arm names; default: every order of the arms)."""

    washout: str | None = None
    period: str | None = None
    sequences: Annotated[list[list[str]], pydantic.Field(min_length=1, max_length=MAX_SEQUENCES)] | None = None


@dataclasses.dataclass(frozen=True)
class CrossoverDesign:
    """A resolved crossover: ``washout_h`` and ``period_h`` (h), the ``sequences`` (tuples of arm names) and
    each sequence's concatenated regimen (``regimens``, one per sequence, in the same order)."""

    washout: str
    period: str
    washout_h: float
    period_h: float
    sequences: tuple[tuple[str, ...], ...]
    regimens: tuple[Regimen, ...]

    @property
    def n_periods(self) -> int:
        return len(self.sequences[0])

    def start_h(self, k: int) -> float:
        """When period ``k`` (0-based) starts: its first dose, its time 0."""
        return k * (self.period_h + self.washout_h)

    @property
    def end_h(self) -> float:
        """The end of the last period's observation window: the end of the run."""
        return self.start_h(self.n_periods - 1) + self.period_h


def sequence_key(sequence) -> str:
    """The name that keys a sequence's random streams (:func:`~neuroplast.cohort.sample_cohort`'s ``arm``): the
    sequence as a JSON list, e.g. ``["ketamine", "saline"]`` (unambiguous whatever the arm names)."""
    return json.dumps(list(sequence), ensure_ascii=False)


def sequence_label(sequence) -> str:
    """A sequence as read in reports and ``patients.parquet``: ``ketamine > saline``."""
    return " > ".join(sequence)


def shifted(regimen: Regimen, by_h: float) -> Regimen:
    """``regimen`` with every dose and session ``by_h`` hours later."""
    return Regimen(
        doses=tuple(dataclasses.replace(d, time_h=d.time_h + by_h) for d in regimen.doses),
        sessions=tuple(dataclasses.replace(s, time_h=s.time_h + by_h) for s in regimen.sessions),
    )


def _time(text: str, field: str) -> float:
    t = parse_quantity(text, "time", field=field)
    if t < 0:
        raise NeuroplastInputError("must not be negative", field=field, value=text)
    return t


def resolve_crossover(
    trial, arm_names: list[str], regimens: dict[str, Regimen], timepoints_h, *, allow_high_dose: bool = False
) -> CrossoverDesign | None:
    """Check ``[trial.crossover]`` against the design, the arms and the timepoints; ``None`` for a parallel trial.

    ``trial`` is the spec's ``[trial]`` table (``TrialInfo``). Refused, naming the field: the table on a parallel
    design or missing on a crossover, a missing washout, a washout or period that is not a time, a period
    shorter than an arm's last dose or the last timepoint, a sequence naming an unknown arm, missing an arm or
    repeating one, sequences in which treatment and period are confounded, ``follow_up`` and
    ``[trial.analysis]`` (a crossover has its own analysis)."""
    xo: CrossoverSpec | None = trial.crossover
    if trial.design != "crossover":
        if xo is not None:
            raise NeuroplastInputError(
                'a [trial.crossover] table needs design = "crossover"', field="trial.crossover", value=trial.design
            )
        return None
    if len(arm_names) < 2:
        raise NeuroplastInputError("a crossover needs at least two arms", field="arm", value=len(arm_names))
    if xo is None:
        raise NeuroplastInputError(
            "a crossover needs a [trial.crossover] table (washout, period, sequences)", field="trial.crossover"
        )
    if xo.washout is not None and trial.washout is not None:
        raise NeuroplastInputError(
            "give the washout once: in [trial.crossover] (or, for older files, as [trial] washout)",
            field="trial.washout",
            value=trial.washout,
        )
    if xo.washout is None and trial.washout is None:
        raise NeuroplastInputError(
            "a crossover needs a washout between periods (a time)", field="trial.crossover.washout"
        )
    washout, w_field = (
        (xo.washout, "trial.crossover.washout") if xo.washout is not None else (trial.washout, "trial.washout")
    )
    washout_h = _time(washout, w_field)
    if trial.endpoints.follow_up is not None:
        raise NeuroplastInputError(
            "a crossover has no follow_up: each period is observed for `period`, then the next begins",
            field="trial.endpoints.follow_up",
            value=trial.endpoints.follow_up,
        )
    if trial.analysis is not None:
        raise NeuroplastInputError(
            "a crossover is analysed by its own mixed model (docs/analysis.md); leave [trial.analysis] out",
            field="trial.analysis",
        )
    last_tp = max(h for _, h in timepoints_h)
    last_dose = {n: max((e.time_h + e.duration_h for e in r.events), default=0.0) for n, r in regimens.items()}
    if xo.period is None:
        period_h = max(last_tp, *last_dose.values())
        period = f"{period_h / 24:g} d"
    else:
        period, period_h = xo.period, _time(xo.period, "trial.crossover.period")
        if period_h <= 0:
            raise NeuroplastInputError("a period must be longer than 0", field="trial.crossover.period", value=period)
        if period_h + 1e-9 < last_tp:
            raise NeuroplastInputError(
                f"the period is shorter than the last timepoint ({last_tp / 24:g} d)",
                field="trial.crossover.period",
                value=period,
            )
        for name, end in last_dose.items():
            if period_h + 1e-9 < end:
                raise NeuroplastInputError(
                    f"the period is shorter than arm '{name}''s doses and sessions (they end at {end / 24:g} d)",
                    field="trial.crossover.period",
                    value=period,
                )
    sequences = _sequences(xo.sequences, arm_names)
    step = period_h + washout_h
    seq_regimens = []
    for seq in sequences:
        parts = [shifted(regimens[name], k * step) for k, name in enumerate(seq)]
        reg = Regimen(doses=tuple(d for p in parts for d in p.doses), sessions=_sessions(parts, w_field, washout))
        # the 24-h ceilings hold across periods too (a short washout must not stack two doses)
        check_window([(d, w_field) for d in reg.doses], allow_high_dose=allow_high_dose)
        seq_regimens.append(reg)
    return CrossoverDesign(washout, period, washout_h, period_h, sequences, tuple(seq_regimens))


def _sessions(parts: list[Regimen], field: str, washout: str) -> tuple[Session, ...]:
    out = sorted((s for p in parts for s in p.sessions), key=lambda s: s.time_h)
    for a, b in itertools.pairwise(out):
        if a.kind == b.kind and b.time_h < a.time_h + a.duration_h - 1e-9:
            raise NeuroplastInputError("sessions of one kind overlap across periods", field=field, value=washout)
    return tuple(out)


def _sequences(given, arm_names: list[str]) -> tuple[tuple[str, ...], ...]:
    """The sequences, checked: each names every arm exactly once; unique; treatment not confounded with period."""
    if given is None:
        if len(arm_names) > MAX_DEFAULT_ARMS:
            raise NeuroplastInputError(
                f"with more than {MAX_DEFAULT_ARMS} arms, name the sequences (every order would be too many)",
                field="trial.crossover.sequences",
            )
        return tuple(itertools.permutations(arm_names))
    known = set(arm_names)
    for i, seq in enumerate(given):
        for j, name in enumerate(seq):
            if name not in known:
                raise NeuroplastInputError(
                    f"unknown arm; arms: {', '.join(arm_names)}",
                    field=f"trial.crossover.sequences[{i}][{j}]",
                    value=name,
                )
            if name in seq[:j]:
                raise NeuroplastInputError(
                    "an arm is given once per sequence", field=f"trial.crossover.sequences[{i}][{j}]", value=name
                )
        missing = [a for a in arm_names if a not in seq]
        if missing:
            raise NeuroplastInputError(
                f"every sequence gives every arm; missing: {', '.join(missing)}",
                field=f"trial.crossover.sequences[{i}]",
                value=seq,
            )
        if seq in given[:i]:
            raise NeuroplastInputError("sequences must differ", field=f"trial.crossover.sequences[{i}]", value=seq)
    out = tuple(tuple(s) for s in given)
    if not _estimable(out, arm_names):
        raise NeuroplastInputError(
            "treatment and period are confounded in these sequences: add sequences that give the arms in other "
            "orders (e.g. the reverse)",
            field="trial.crossover.sequences",
            value=given,
        )
    return out


def _estimable(sequences, arm_names: list[str]) -> bool:
    """Whether treatment differences are estimable within patients beside period and sequence effects: the
    cell-means design (one row per sequence and period) has full rank."""
    t, p, s = len(arm_names), len(arm_names), len(sequences)
    rows = []
    for i, seq in enumerate(sequences):
        for k, name in enumerate(seq):
            x = np.zeros(t + p + s - 2)
            x[0] = 1.0
            if (a := arm_names.index(name)) > 0:
                x[a] = 1.0
            if k > 0:
                x[t - 1 + k] = 1.0
            if i > 0:
                x[t + p - 2 + i] = 1.0
            rows.append(x)
    return int(np.linalg.matrix_rank(np.array(rows))) == t + p + s - 2


__all__ = ["CrossoverDesign", "CrossoverSpec", "resolve_crossover", "sequence_key", "sequence_label", "shifted"]
