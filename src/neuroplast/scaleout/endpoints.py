"""Pick one number out of a trial summary (docs/outputs.md): the endpoint of a sweep or sensitivity run.

An endpoint is named by its key in the summary, and located by arm / timepoint / arm pair:

* per arm and timepoint: ``mean_score``, ``mean_change``, ``sd_change``, ``response_rate``,
  ``remission_rate`` (any key of ``arms.<arm>.timepoints[]``);
* per arm: ``median_days_to_relapse``, ``responders_at_last_dose``, ``cadss_peak_mean``, … (any
  number in ``arms.<arm>`` or one of its blocks such as ``relapse`` and ``safety``);
* per arm pair and timepoint: ``mean_difference``, ``cohens_d``, ``odds_ratio_response``, ``p_welch``
  (any key of ``contrasts[]``).

Nothing here lists the keys: they are read from the summary, so new endpoints work unchanged.
"""

from __future__ import annotations

import dataclasses
import math

from .._errors import NeuroplastInputError


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """``name`` at ``time`` (a timepoint label of the spec) in ``arm``, or ``arm`` versus ``versus``."""

    name: str
    arm: str | None = None
    time: str | None = None
    versus: str | None = None

    def resolve(self, spec) -> Endpoint:
        """Fill the defaults from the spec: first arm, the other arm of a two-arm trial, last timepoint."""
        arms = [a.name for a in spec.arm]
        labels = [label for label, _ in spec.timepoints_h()]
        arm = self.arm or arms[0]
        if arm not in arms:
            raise NeuroplastInputError(f"no such arm; arms: {', '.join(arms)}", field="--arm", value=self.arm)
        versus = self.versus
        if versus is not None and (versus not in arms or versus == arm):
            raise NeuroplastInputError(
                f"not another arm of the trial; arms: {', '.join(arms)}", field="--versus", value=versus
            )
        time = self.time or labels[-1]
        if time not in labels:
            raise NeuroplastInputError(
                f"not a timepoint of the spec; timepoints: {', '.join(labels)}", field="--time", value=self.time
            )
        return Endpoint(self.name, arm, time, versus)

    def label(self) -> str:
        where = f"{self.arm} vs {self.versus}" if self.versus else self.arm
        return f"{self.name} ({where}, {self.time})"

    def value(self, summary: dict) -> float:
        """The endpoint's value in ``summary`` (NaN where the summary has none, e.g. median not reached)."""
        arm = summary["arms"][self.arm]
        tp = next((t for t in arm["timepoints"] if t["time"] == self.time), None)
        if tp is not None and self.name in tp and self.versus is None:
            return _num(tp[self.name])
        if self.name in _contrast_keys(summary) or self.versus is not None:
            versus = self.versus or _other_arm(summary, self.arm)
            for c in summary["contrasts"]:
                if c["time"] != self.time:
                    continue
                if c["arms"] == [self.arm, versus] and self.name in c:
                    return _num(c[self.name])
                if c["arms"] == [versus, self.arm] and self.name in c:
                    return _flip(self.name, c[self.name])
            raise NeuroplastInputError(
                f"no contrast '{self.name}' between these arms at this time", field="--endpoint", value=self.name
            )
        for block in (arm, *[v for v in arm.values() if isinstance(v, dict)]):
            if self.name in block and not isinstance(block[self.name], (dict, list)):
                return _num(block[self.name])
        raise NeuroplastInputError(
            f"unknown endpoint; known: {', '.join(sorted(known_endpoints(summary)))}",
            field="--endpoint",
            value=self.name,
        )


def known_endpoints(summary: dict) -> set[str]:
    names = set(_contrast_keys(summary))
    for arm in summary["arms"].values():
        for tp in arm["timepoints"]:
            names |= {k for k, v in tp.items() if isinstance(v, (int, float)) and k != "time_h"}
        for block in (arm, *[v for v in arm.values() if isinstance(v, dict)]):
            names |= {k for k, v in block.items() if isinstance(v, (int, float)) or v is None}
    return names - {"arms", "time", "time_h", "ci95"}


def _contrast_keys(summary):
    keys = {k for c in summary["contrasts"] for k, v in c.items() if isinstance(v, (int, float)) or v is None}
    return keys - {"time"}


def _other_arm(summary, arm):
    others = [a for a in summary["arms"] if a != arm]
    if not others:
        raise NeuroplastInputError("a contrast needs two arms; this trial has one", field="--endpoint")
    return others[0]


def _num(v) -> float:
    return math.nan if v is None else float(v)


def _flip(name, v) -> float:
    """A contrast stored as (versus, arm), read as (arm, versus)."""
    v = _num(v)
    if name in ("mean_difference", "cohens_d"):
        return -v
    if name == "odds_ratio_response":
        return 1.0 / v if v else math.nan
    return v  # symmetric: p-values and the like
