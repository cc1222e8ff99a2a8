"""Published points for a trial's arms: the calibration targets of the studies it names, and each target's
simulated value read off a trial's result (what the calibration and the validation compare)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..evidence.targets import TARGETS, Target
from .run import TrialResult


def published_points(result: TrialResult, studies=None) -> list[dict]:
    """Every target of ``studies`` (default: the spec's ``compare_with``) that this trial can show.

    A target applies when its arm names are arms of the trial and, for timed targets, the
    trial has a timepoint at the same hour; its simulated value is then computed from the run.
    """
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
        if t.time is not None and t.time_h is not None:
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


def simulated_value(t: Target, results: dict[str, TrialResult]) -> float | None:
    """The value of target ``t`` in the result of its trial (``results[t.trial]``), in the target's metric."""
    res = results[t.trial]
    s = res.summary
    time = t.time or ""  # a metric read at a visit needs one: a target without a time matches none (KeyError)
    if " vs " in t.arm:
        a, b = t.arm.split(" vs ")
        if t.metric == "risk_ratio_response":
            ra, rb = s.arms[a].at(time).response_rate, s.arms[b].at(time).response_rate
            return ra / rb if rb > 0 else math.inf
        return getattr(s.contrast(a, b, time), t.metric)
    if t.arm == "ketamine (enriched)":
        return _enriched(res, t)
    arm = s.arms[t.arm]
    if t.metric == "within_effect_size":  # standardised mean improvement: -change / SD at baseline
        return -arm.at(time).mean_change / arm.baseline.sd
    if t.metric == "relapsed_fraction_of_responders":
        return arm.relapse.relapsed_fraction_of_responders
    if t.metric in ("response_rate", "remission_rate", "mean_change", "sd_change"):
        return getattr(arm.at(time), t.metric)
    if t.metric == "median_days_to_relapse":
        return arm.relapse.median_days_to_relapse
    if t.metric in ("sbp_largest_mean_rise", "dbp_largest_mean_rise", "heart_rate_largest_mean_rise"):
        return getattr(arm.safety, t.metric)
    if t.metric == "share_bp_rise_label":
        p = res.patients[(res.patients["arm"] == t.arm) & (res.patients["status"] == "ok")]
        return float(((p["sbp_rise_measured"] >= 40.0) | (p["dbp_rise_measured"] >= 25.0)).mean())
    if t.metric == "r_cadss_pct_change":
        p = res.patients[(res.patients["arm"] == t.arm) & (res.patients["status"] == "ok")]
        pct = p[f"change_{t.time}"] / p["baseline_score"]
        return float(np.corrcoef(p["cadss_peak"], pct)[0, 1])
    raise KeyError(t.metric)


def _enriched(res: TrialResult, t: Target) -> float | None:
    """aanhetrot2010: patients responding 24 h after the first infusion (a prior-responder sample)."""
    p = res.patients[(res.patients["status"] == "ok") & res.patients["response_1 d"]]
    if t.metric == "response_rate":
        return float(p[f"response_{t.time}"].mean())
    if t.metric == "mean_pct_change":
        return float((100 * p[f"change_{t.time}"] / p["baseline_score"]).mean())
    resp = p[p["responder_at_last_dose"]]
    if t.metric == "relapsed_fraction":
        return float(resp["relapsed"].mean()) if len(resp) else None
    if t.metric == "mean_days_to_relapse":
        r = resp[resp["relapsed"]]
        return float(r["days_to_relapse"].mean()) if len(r) else None
    raise KeyError(t.metric)
