"""The trial file's ``[trial.dropout]`` and ``[trial.analysis]`` tables (docs/trial-format.md, docs/analysis.md).

``DropoutSpec`` says how patients leave a simulated trial (the model is in :mod:`.dropout`); ``AnalysisSpec``
which published analysis compares the arms. Both are validated like the rest of the spec: unknown keys, a
number out of range or of the wrong type are errors naming the field.
"""

from __future__ import annotations

from typing import Literal

import pydantic

METHODS = ("mmrm", "ancova", "locf", "completers", "observed")
"""The ``[trial.analysis] method`` values, each a (model, data set) pair: :data:`MODELS`."""

MODELS: dict[str, tuple[str, str]] = {
    "mmrm": ("mmrm", "observed"),  # every observed visit, MMRM (missing at random)
    "ancova": ("ancova", "observed"),  # at each visit, the patients observed there; ANCOVA on baseline
    "locf": ("ancova", "locf"),  # last observation carried forward, ANCOVA on baseline
    "completers": ("ancova", "completers"),  # patients observed at every visit, ANCOVA on baseline
    "observed": ("welch", "observed"),  # at each visit, the patients observed there; Welch's t on the change
}
"""Method -> (the model of ``trials.analysis`` or Welch's t-test, the analysed data set)."""


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class DropoutSpec(_Strict):
    """Who leaves a trial, and when (the model and its formula: docs/trial-format.md, ``[trial.dropout]``).

    ``after_first_dose``: probability (0 to < 1) of leaving right after the first dose or session;
    ``per_week``: the probability (0 to < 1) of leaving within any one week after that, a constant hazard
    of ``-ln(1 - per_week)`` per week; both are the rates of a patient with no reason to leave (improved by
    the response fraction, no adverse effect). ``informative`` (0 to 1) scales how much more likely
    leaving becomes without improvement or with adverse effects; 0: at random.
    """

    after_first_dose: float = pydantic.Field(0.0, ge=0, lt=1)
    per_week: float = pydantic.Field(0.0, ge=0, lt=1)
    informative: float = pydantic.Field(0.0, ge=0, le=1)


class AnalysisSpec(_Strict):
    """How the arms are compared: one of :data:`METHODS`; ``None``: MMRM when the trial has dropout, else
    Welch's t-test on the change of every patient (``observed``)."""

    method: Literal["mmrm", "ancova", "locf", "completers", "observed"] | None = None


def resolve_method(dropout: DropoutSpec | None, analysis: AnalysisSpec | None) -> str:
    """The analysis a trial uses: the spec's method, else ``mmrm`` with dropout and ``observed`` without."""
    if analysis is not None and analysis.method is not None:
        return analysis.method
    return "mmrm" if dropout is not None else "observed"


__all__ = ["METHODS", "MODELS", "AnalysisSpec", "DropoutSpec", "resolve_method"]
