"""The trial file's ``[trial.withdrawal]`` table: a randomised-withdrawal (maintenance) trial (docs/trial-format.md).

``design = "randomized_withdrawal"``: every patient gets the open-label ``induction`` arm; those who meet the
``criterion`` at ``randomise_at`` go on, in one continuous simulation, to a ``continuation`` arm, and the trial
measures the time from randomisation to relapse. :class:`WithdrawalSpec` is the table as written (validated by
pydantic like the rest of the spec); :func:`resolve` checks what needs more than types and returns the
:class:`Withdrawal` plan in hours, with every threshold resolved.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import pydantic

from .._errors import NeuroplastInputError
from .._units import parse_quantity
from ..instruments import INSTRUMENTS as SCALES
from ..regimen import Dose, Regimen, Session

CRITERIA = ("response", "remission", "stable_response", "stable_remission")
"""Who is randomised: response or remission at ``randomise_at``; the ``stable_`` forms at every rated visit of the
last ``stable_for`` up to it."""

FIELD = "trial.withdrawal"


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class RelapseRule(_Strict):
    """What counts as a relapse after randomisation. ``score_at_least``: a score on the criterion's scale at or
    above this; without it, a visit no longer meeting the response criterion (the project's relapse definition).
    ``confirmed_after``: the relapse must hold again at the first visit at least this long after it."""

    score_at_least: float | None = pydantic.Field(default=None, ge=0)
    confirmed_after: str | None = None


class WithdrawalSpec(_Strict):
    """``[trial.withdrawal]`` as written (times as quantity strings, arms by name)."""

    induction: str
    criterion: Literal["response", "remission", "stable_response", "stable_remission"]
    stable_for: str | None = None
    randomise_at: str
    continuation: list[str] = pydantic.Field(max_length=100)
    follow_up: str
    scale: str | None = None
    response: float | None = pydantic.Field(None, gt=0, le=1)
    remission: float | None = pydantic.Field(None, ge=0)
    visits_every: str = "1 week"
    relapse: RelapseRule = RelapseRule()


@dataclasses.dataclass(frozen=True)
class Withdrawal:
    """A resolved ``[trial.withdrawal]``: hours from the first induction dose, thresholds on ``scale``."""

    induction: str
    continuation: tuple[str, ...]
    criterion: str
    scale: str
    response: float  # a responder's score fell by at least this fraction of baseline
    remission: float  # a remitter scores at most this
    stable_h: float  # 0 unless the criterion is stable_*
    randomise_h: float
    follow_up_h: float
    every_h: float
    relapse_score: float | None  # None: relapse is the loss of response
    confirm_h: float  # 0: no confirmation visit

    @property
    def end_h(self) -> float:
        return self.randomise_h + self.follow_up_h

    def visits_h(self) -> np.ndarray:
        """The rated visits: every ``every_h`` before and after randomisation (which is one), from 0 to the end."""
        before = self.randomise_h - self.every_h * np.arange(int(np.floor(self.randomise_h / self.every_h + 1e-9)) + 1)
        after = self.randomise_h + self.every_h * np.arange(
            1, int(np.floor(self.follow_up_h / self.every_h + 1e-9)) + 1
        )
        return np.unique(np.round(np.concatenate([before, after, [0.0]]), 6))

    def regimens(self, arms: dict[str, Regimen]) -> dict[str, Regimen]:
        """Each continuation arm's whole regimen: the induction arm's, then the continuation arm's from randomisation."""
        first = arms[self.induction]
        return {name: _then(first, arms[name], self.randomise_h) for name in self.continuation}

    def save_times(self, ts: np.ndarray) -> np.ndarray:
        """``ts`` (the parallel design's grid of the whole regimens) with every rated visit and a daily grid to the
        end of follow-up."""
        grid = np.concatenate([ts, self.visits_h(), np.arange(0.0, self.end_h + 1e-9, 24.0), [self.end_h]])
        return np.unique(np.round(grid, 6))


def _then(first: Regimen, then: Regimen, at_h: float) -> Regimen:
    doses: tuple[Dose, ...] = (*first.doses, *(dataclasses.replace(d, time_h=d.time_h + at_h) for d in then.doses))
    sessions: tuple[Session, ...] = (
        *first.sessions,
        *(dataclasses.replace(s, time_h=s.time_h + at_h) for s in then.sessions),
    )
    return Regimen(doses, sessions)


def _time(text: str, field: str) -> float:
    t = parse_quantity(text, "time", field=field)
    if t <= 0:
        raise NeuroplastInputError("must be a positive time", field=field, value=text)
    return t


def resolve(
    w: WithdrawalSpec | None,
    *,
    design: str,
    regimens: dict[str, Regimen],
    scale: str,
    population: str,
    response: float,
    remission: float,
) -> Withdrawal | None:
    """Check ``[trial.withdrawal]`` against the design, the arms and the scales; ``None`` on other designs.
    ``response`` and ``remission`` are the trial's endpoints' (the defaults of the criterion on the trial's
    scale); ``regimens`` every arm's, by name."""
    if design != "randomized_withdrawal":
        if w is not None:
            raise NeuroplastInputError(
                f'[trial.withdrawal] is for design = "randomized_withdrawal", not "{design}"', field=FIELD
            )
        return None
    if w is None:
        raise NeuroplastInputError(
            "a randomized_withdrawal trial needs a [trial.withdrawal] table (induction, criterion, randomise_at, "
            "continuation, follow_up)",
            field=FIELD,
        )
    names = list(regimens)
    if w.induction not in regimens:
        raise NeuroplastInputError(
            f"no such arm; arms: {', '.join(names)}", field=f"{FIELD}.induction", value=w.induction
        )
    if len(w.continuation) < 2:
        raise NeuroplastInputError(
            "at least 2 continuation arms are needed to randomise between", field=f"{FIELD}.continuation",
            value=w.continuation,
        )  # fmt: skip
    for i, name in enumerate(w.continuation):
        if name not in regimens:
            raise NeuroplastInputError(
                f"no such arm; arms: {', '.join(names)}", field=f"{FIELD}.continuation[{i}]", value=name
            )
        if name in w.continuation[:i]:
            raise NeuroplastInputError("named twice", field=f"{FIELD}.continuation[{i}]", value=name)
    for i, name in enumerate(names):
        if name != w.induction and name not in w.continuation:
            raise NeuroplastInputError(
                "arm not used: a randomized_withdrawal trial's arms are its induction and continuation arms",
                field=f"arm[{i}]",
                value=name,
            )
    crit_scale = scale if w.scale is None else w.scale
    if crit_scale not in SCALES:
        raise NeuroplastInputError(f"unknown scale; known: {', '.join(SCALES)}", field=f"{FIELD}.scale", value=w.scale)
    if population not in SCALES[crit_scale].populations:
        raise NeuroplastInputError(
            f"scale {crit_scale} does not fit population '{population}'", field=f"{FIELD}.scale", value=w.scale
        )
    top = SCALES[crit_scale].max
    if w.remission is not None:
        cut = float(w.remission)
    else:
        cut = remission if crit_scale == scale else SCALES[crit_scale].remission
    if cut > top:
        raise NeuroplastInputError(
            f"remission is a score on {crit_scale} (0 to {top:g})", field=f"{FIELD}.remission", value=w.remission
        )
    randomise_h = _time(w.randomise_at, f"{FIELD}.randomise_at")
    stable = w.criterion.startswith("stable_")
    if stable and w.stable_for is None:
        raise NeuroplastInputError(
            f'criterion "{w.criterion}" needs stable_for: how long it must hold before randomisation',
            field=f"{FIELD}.stable_for",
        )
    if not stable and w.stable_for is not None:
        raise NeuroplastInputError(
            f'stable_for is for the stable_* criteria, not "{w.criterion}"', field=f"{FIELD}.stable_for",
            value=w.stable_for,
        )  # fmt: skip
    stable_h = _time(w.stable_for, f"{FIELD}.stable_for") if w.stable_for is not None else 0.0
    if stable_h > randomise_h:
        raise NeuroplastInputError(
            f"stable_for is longer than randomise_at ({w.randomise_at}): the criterion cannot hold that long",
            field=f"{FIELD}.stable_for",
            value=w.stable_for,
        )
    induction_end = max((e.time_h + e.duration_h for e in regimens[w.induction].events), default=0.0)
    if induction_end > randomise_h + 1e-9:
        raise NeuroplastInputError(
            f"the induction arm '{w.induction}' doses until {induction_end / 24:g} d, after randomisation; "
            "give later doses in the continuation arms",
            field=f"{FIELD}.randomise_at",
            value=w.randomise_at,
        )
    every_h = _time(w.visits_every, f"{FIELD}.visits_every")
    rule = w.relapse
    if rule.score_at_least is not None and rule.score_at_least > top:
        raise NeuroplastInputError(
            f"a score on {crit_scale} (0 to {top:g})",
            field=f"{FIELD}.relapse.score_at_least",
            value=rule.score_at_least,
        )
    confirm_h = 0.0
    if rule.confirmed_after is not None:
        confirm_h = _time(rule.confirmed_after, f"{FIELD}.relapse.confirmed_after")
    return Withdrawal(
        induction=w.induction,
        continuation=tuple(w.continuation),
        criterion=w.criterion,
        scale=crit_scale,
        response=float(response if w.response is None else w.response),
        remission=cut,
        stable_h=stable_h,
        randomise_h=randomise_h,
        follow_up_h=_time(w.follow_up, f"{FIELD}.follow_up"),
        every_h=every_h,
        relapse_score=None if rule.score_at_least is None else float(rule.score_at_least),
        confirm_h=confirm_h,
    )


__all__ = ["CRITERIA", "RelapseRule", "Withdrawal", "WithdrawalSpec", "resolve"]
