"""Published points for a trial's arms: the calibration targets of the studies it names."""

from __future__ import annotations

import dataclasses

from ..evidence.targets import TARGETS
from .run import TrialResult


def published_points(result: TrialResult, studies=None) -> list[dict]:
    """Every target of ``studies`` (default: the spec's ``compare_with``) that this trial can show.

    A target applies when its arm names are arms of the trial and, for timed targets, the
    trial has a timepoint at the same hour; its simulated value is then computed from the run.
    """
    from ..calibration.evaluate import simulated_value

    studies = result.spec.trial.compare_with if studies is None else studies
    arms = set(result.summary.arms)
    labels = {round(h, 6): label for label, h in result.spec.timepoints_h()}
    out = []
    for t in TARGETS:
        if t.study not in studies:
            continue
        names = t.arm.split(" vs ")
        if not set(names) <= arms:
            continue
        label = None
        if t.time is not None:
            label = labels.get(round(t.time_h, 6))
            if label is None:
                continue
        local = dataclasses.replace(t, time=label, trial="this")
        try:
            sim = simulated_value(local, {"this": result})
        except (KeyError, StopIteration):
            sim = None
        out.append(
            {
                "study": t.study,
                "arm": t.arm,
                "time_h": t.time_h,
                "time": t.time,
                "metric": t.metric,
                "value": t.value,
                "lo": t.lo,
                "hi": t.hi,
                "simulated": sim,
                "use": t.use,
                "ci_holds": t.ci_holds(sim),
                "label": label or "over the run",
            }
        )
    return out
