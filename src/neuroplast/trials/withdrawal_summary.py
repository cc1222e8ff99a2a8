"""``summary.json``'s ``withdrawal`` block: a randomised-withdrawal trial's flow, Kaplan-Meier curves and hazard
ratios (every key: docs/outputs.md). Present only when ``design = "randomized_withdrawal"``.

Times are days from randomisation. A number that cannot be estimated (no relapse in an arm, an arm without
patients) is ``None`` / ``null``, and the contrast's ``note`` says why.
"""

from __future__ import annotations

import pydantic


class _Document(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class KaplanMeier(_Document):
    """The Kaplan-Meier estimate of staying free of relapse: a step function, ``survival[i]`` from ``days[i]`` on
    (days from randomisation; the first point is 0 d, 1.0)."""

    days: list[float]
    survival: list[float]


class Flow(_Document):
    """CONSORT-style counts of the whole trial (sums over the continuation arms' streams).

    ``enrolled`` patients started the induction: ``failed`` of them had a failed solve, ``left_during_induction``
    left before randomisation (``[trial.dropout]``), ``completed_induction`` were observed at randomisation;
    of those ``met_criterion`` met the criterion and were randomised, ``not_met_criterion`` did not. So
    ``enrolled = met_criterion + failed + left_during_induction + not_met_criterion`` and
    ``met_criterion = sum(randomised.values())``."""

    enrolled: int
    failed: int
    left_during_induction: int
    completed_induction: int
    met_criterion: int
    not_met_criterion: int
    randomised: dict[str, int]


class WithdrawalArm(_Document):
    """One continuation arm: its stream's induction flow (as :class:`Flow`), then its randomised patients'
    outcome: ``relapsed``, ``censored_dropout`` (left before relapsing), ``censored_end`` (free of relapse at
    the end of follow-up); ``median_days_to_relapse`` (Kaplan-Meier; ``None`` when not reached) and the curve."""

    enrolled: int
    failed: int
    left_during_induction: int
    completed_induction: int
    met_criterion: int
    not_met_criterion: int
    randomised: int
    relapsed: int
    censored_dropout: int
    censored_end: int
    median_days_to_relapse: float | None
    km: KaplanMeier


class RelapseContrast(_Document):
    """Time to relapse, the first arm of ``arms`` against the second, over their randomised patients.

    ``method`` "cox": Cox regression on the arm (Efron's ties), ``hazard_ratio`` of the first arm over the second
    with its Wald ``ci95`` and ``p_value``; "logrank": an arm has no relapse, so the hazard ratio does not
    exist (``None``) and ``p_value`` is the log-rank test's; "none": no relapse at all (every number ``None``).
    ``logrank_p_value``: the log-rank test in every case (``None`` without relapses). ``n_analysed`` and ``events``
    per arm."""

    arms: tuple[str, str]
    method: str
    hazard_ratio: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    logrank_p_value: float | None
    n_analysed: tuple[int, int]
    events: tuple[int, int]
    note: str | None = None

    def reversed(self) -> RelapseContrast:
        """The same comparison read the other way round (second arm over the first)."""
        ci = None if self.ci95 is None else (1.0 / self.ci95[1], 1.0 / self.ci95[0])
        return self.model_copy(
            update={
                "arms": self.arms[::-1],
                "hazard_ratio": None if self.hazard_ratio is None else 1.0 / self.hazard_ratio,
                "ci95": ci,
                "n_analysed": self.n_analysed[::-1],
                "events": self.events[::-1],
            }
        )


class WithdrawalSummary(_Document):
    """The design as run (thresholds resolved, times in hours from the first induction dose), the flow, each
    continuation arm (spec order) and the relapse contrast of every pair of continuation arms (spec order)."""

    induction: str
    criterion: str
    scale: str
    response: float
    remission: float
    stable_for_h: float
    randomise_at_h: float
    follow_up_h: float
    visits_every_h: float
    relapse: str
    flow: Flow
    arms: dict[str, WithdrawalArm]
    contrasts: list[RelapseContrast]

    def contrast(self, first: str, second: str) -> RelapseContrast:
        """``first`` against ``second``; a pair stored the other way round is :meth:`RelapseContrast.reversed`."""
        for c in self.contrasts:
            if c.arms == (first, second):
                return c
            if c.arms == (second, first):
                return c.reversed()
        raise KeyError(f"no relapse contrast {first!r} vs {second!r}")


__all__ = ["Flow", "KaplanMeier", "RelapseContrast", "WithdrawalArm", "WithdrawalSummary"]
