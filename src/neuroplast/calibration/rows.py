"""One row of ``neuroplast validate``: a published endpoint beside its simulated value.

``kind`` says what the comparison tests:

* ``fitted``: the endpoint is in the calibration objective;
* ``held_out``: never fitted and not the same data or statistic as a fitted endpoint (an out-of-sample test);
* ``consistency``: never fitted, but the same simulated statistic as a fitted endpoint, or from a pooled analysis
  that pools (or may pool) fitted studies (rule: :mod:`neuroplast.calibration.consistency`);
* ``mechanism_fitted``, ``mechanism_held_out``: mechanistic read-outs, fitted or not.
"""

from __future__ import annotations

import dataclasses
import math

KINDS = ("fitted", "held_out", "consistency", "mechanism_fitted", "mechanism_held_out")
KEYS = ("study", "kind", "arms", "time", "metric", "published", "lo", "hi", "simulated", "inside")


@dataclasses.dataclass(frozen=True)
class ValidationRow:
    """``arms``: one arm, or the two arms of a contrast (``a`` vs ``b``); ``time``: the visit label (``None`` for
    whole-run endpoints); ``published``, ``lo``, ``hi``: the published value and its 95% CI, in the metric's unit;
    ``inside``: whether ``simulated`` lies in [lo, hi] (``None`` without a CI or a simulated value; for a direction
    check, whether the sign is right)."""

    study: str
    kind: str
    arms: tuple[str, ...]
    time: str | None
    metric: str
    published: float
    lo: float | None
    hi: float | None
    simulated: float | None
    inside: bool | None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} of {self.study} is not one of {KINDS}")
        if not self.arms or not all(isinstance(a, str) and a for a in self.arms):
            raise ValueError(f"arms of {self.study} must be one or more names, got {self.arms!r}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["arms"] = list(self.arms)
        if d["simulated"] is not None and not math.isfinite(d["simulated"]):
            d["simulated"] = None  # JSON has no NaN or infinity
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ValidationRow:
        if set(d) != set(KEYS):
            raise ValueError(f"a validation row has exactly the keys {KEYS}; got {sorted(d)}")
        return cls(**{**d, "arms": tuple(d["arms"])})


__all__ = ["KEYS", "KINDS", "ValidationRow"]
