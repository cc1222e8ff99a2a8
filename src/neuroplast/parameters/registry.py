"""The parameter registry: every number in the model declares value, unit, variability and source.

A :class:`Parameter` is data. ``source`` is an id from the evidence registry
(``neuroplast.evidence``: the shared calibration and mechanistic tables plus
``extra_sources.yaml``), ``fit`` for a value set by the reproducible calibration
(``neuroplast calibrate``; the fitted values live in ``fitted.json`` beside this file, which also
holds values the calibration derives in closed form from a cited source), or
``assumption`` — in which case ``note`` gives the one-line reason. How tightly the data pin each fitted value
(its status and 95% interval) is in ``identifiability.json`` beside it (``neuroplast calibrate --stage identify``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

FITTED_PATH = Path(__file__).with_name("fitted.json")
IDENTIFIABILITY_PATH = Path(__file__).with_name("identifiability.json")
STATUSES = ("literature", "fitted", "weakly_identified", "assumption")


@dataclasses.dataclass(frozen=True)
class Parameter:
    name: str
    value: float
    unit: str
    description: str
    source: str  # evidence id | "fit" | "assumption"
    note: str = ""
    cv: float = 0.0  # between-patient variability: coefficient of variation of a log-normal
    scale: str = ""  # which scale of the chain uses it (filled by the table)

    def __post_init__(self):
        if self.source == "assumption" and not self.note:
            raise ValueError(f"parameter {self.name}: an assumption needs a one-line reason in note")


@functools.cache
def fitted_values() -> dict[str, float]:
    """Calibrated values committed by ``neuroplast calibrate`` (empty before the first fit)."""
    if not FITTED_PATH.exists():
        return {}
    return dict(json.loads(FITTED_PATH.read_text())["values"])


@functools.cache
def identifiability() -> dict[str, dict]:
    """name -> ``{"interval", "at_bound", "status", ...}`` of every fitted parameter, as committed by
    ``neuroplast calibrate --stage identify`` (``neuroplast.calibration.identify``)."""
    if not IDENTIFIABILITY_PATH.exists():
        return {}
    return {row["name"]: row for row in json.loads(IDENTIFIABILITY_PATH.read_text())["parameters"]}


def status(p: Parameter) -> tuple[str, list | None, str | None]:
    """``(status, interval, at_bound)``: ``literature`` (an evidence id), ``assumption``, or for a ``fit``
    parameter ``fitted`` / ``weakly_identified`` with its 95% interval and the search bound it sits at (if any)."""
    if p.source == "assumption":
        return "assumption", None, None
    if p.source != "fit":
        return "literature", None, None
    row = identifiability().get(p.name)
    if row is None:
        raise KeyError(f"parameter {p.name} is fitted but identifiability.json has no row for it")
    return row["status"], row["interval"], row["at_bound"]


def resolved(p: Parameter) -> float:
    """The value to use: the calibrated value when ``fitted.json`` has one (``fit`` parameters and
    the stage-1 anchors derived from a cited source), else the table's value."""
    return float(fitted_values().get(p.name, p.value))
