"""Which endpoints that were never fitted are still not out-of-sample tests.

A never-fitted endpoint is a **consistency** check, not a held-out prediction, when

1. its simulated statistic is the same number as a fitted endpoint's: the same calibration trial, the same arm
   or the same two arms of a contrast (in either order), the same time (in hours) and the same metric (or an
   alias of it, e.g. Hedges g for Cohen's d); or
2. its data overlap a fitted endpoint's: one pools the other's study, or both pool a common study
   (:data:`neuroplast.evidence.targets.POOLED`); and where a pooled analysis's studies are not listed, it is
   assumed (conservatively) to pool any fitted study of the same calibration trial that shares an arm with it.

Fitted endpoints stay fitted; the rule never makes an endpoint fitted.
"""

from __future__ import annotations

import dataclasses

from .._errors import NeuroplastInputError
from .._units import parse_quantity
from ..evidence.targets import POOLED, Pooled, Target

_METRIC_ALIASES = {"hedges_g": "cohens_d", "smd": "cohens_d"}


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """What the rule reads of an endpoint (a :class:`Target` or a condition row)."""

    study: str
    trial: str
    arm: str
    time: str | None
    metric: str
    use: str  # fit | holdout | direction

    @classmethod
    def of(cls, t: Target | dict) -> Endpoint:
        if isinstance(t, dict):
            return cls(t["study"], t["trial"], t["arm"], t["time"], t["metric"], t["use"])
        return cls(t.study, t.trial, t.arm, t.time, t.metric, t.use)

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(self.arm.split(" vs "))

    def statistic(self) -> tuple:
        """The key of the simulated statistic: trial, arms (unordered for a contrast), hours, metric."""
        try:
            when: object = None if self.time is None else parse_quantity(self.time, "time", field="time")
        except NeuroplastInputError:  # a label such as "days 1-3" is compared as written
            when = self.time
        return (self.trial, frozenset(self.arms), len(self.arms), when, _METRIC_ALIASES.get(self.metric, self.metric))


def _pooled(study: str, pooled: dict[str, Pooled]) -> tuple[frozenset[str], bool]:
    """The studies whose patients ``study`` reports (itself included) and whether that list is known."""
    p = pooled.get(study)
    if p is None:
        return frozenset({study}), True
    if p.studies is None:
        return frozenset({study}), False
    return frozenset({study, *p.studies}), True


def _overlap(h: Endpoint, f: Endpoint, pooled: dict[str, Pooled]) -> str | None:
    """Why the data of held-out ``h`` overlap those of fitted ``f`` (``None``: they do not)."""
    ph, known_h = _pooled(h.study, pooled)
    pf, known_f = _pooled(f.study, pooled)
    if h.study != f.study and ph & pf:
        return f"its data overlap fitted {f.study} ({', '.join(sorted(ph & pf))})"
    if not (known_h and known_f) and h.trial == f.trial and set(h.arms) & set(f.arms):
        unlisted = h.study if not known_h else f.study
        return (
            f"{unlisted} pools studies not listed in the calibration table, so it may pool the data of fitted "
            f"{f.study} (same calibration trial, shared arm {', '.join(sorted(set(h.arms) & set(f.arms)))})"
        )
    return None


def classify(endpoints: list[Endpoint], pooled: dict[str, Pooled] = POOLED) -> list[tuple[str, str]]:
    """``(kind, reason)`` per endpoint: ``fitted``, ``held_out`` or ``consistency`` (reason: why)."""
    fitted = [e for e in endpoints if e.use == "fit"]
    out = []
    for e in endpoints:
        if e.use == "fit":
            out.append(("fitted", ""))
            continue
        same = next((f for f in fitted if f.statistic() == e.statistic()), None)
        if same is not None:
            out.append(
                ("consistency", f"the same simulated statistic as fitted {same.study} ({same.arm}, {same.metric})")
            )
            continue
        why = next((w for f in fitted if (w := _overlap(e, f, pooled)) is not None), None)
        out.append(("held_out", "") if why is None else ("consistency", why))
    return out


__all__ = ["Endpoint", "classify"]
