"""Simulate the calibration trials and compute every target's simulated value."""

from __future__ import annotations

import math

import numpy as np

from ..evidence.targets import TARGETS, Target
from ..simulation import PopulationModel
from ..trials import TrialResult, parse_spec, run_trial

_INFUSION = {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min"}

CALIBRATION_TRIALS = {
    # The trd preset with the usual inclusion of the IV ketamine RCTs (murrough2013_ajp).
    "single": {
        "trial": {"id": "calibration-single-infusion", "population": "trd", "scale": "MADRS", "n_per_arm": 400, "seed": 2026,
                  "inclusion": {"min_baseline": 22, "medication_free": True},
                  "endpoints": {"timepoints": ["40 min", "2 h", "230 min", "4 h", "1 d", "3 d", "7 d"], "remission": 10}},
        "arm": [{"name": "ketamine", "dose": [{**_INFUSION, "at": ["0 d"]}]},
                {"name": "midazolam", "dose": [{"drug": "midazolam", "amount": "0.045 mg/kg", "duration": "40 min", "at": ["0 d"]}]},
                {"name": "saline", "dose": [{"drug": "saline", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}]}],
    },
    # murrough2013_biolpsych / aanhetrot2010: days 1, 3, 5, 8, 10, 12 (0, 2, 4, 7, 9, 11 d from the first dose).
    "repeated": {
        "trial": {"id": "calibration-repeated-infusions", "population": "trd", "scale": "MADRS", "n_per_arm": 400, "seed": 2027,
                  "inclusion": {"min_baseline": 22, "medication_free": True},
                  "endpoints": {"timepoints": ["2 h", "1 d", "12 d"], "remission": 10, "follow_up": "83 d"}},
        "arm": [{"name": "ketamine", "dose": [{**_INFUSION, "at": ["0 d", "2 d", "4 d", "7 d", "9 d", "11 d"]}]}],
    },
    # daly2018_synapse period 1: adjunctive intranasal esketamine or placebo on days 1 and 4 (0 and 3 d).
    "esketamine": {
        "trial": {"id": "calibration-esketamine-dose", "population": "trd", "scale": "MADRS", "n_per_arm": 400, "seed": 2028,
                  "inclusion": {"min_baseline": 22, "on_stable_antidepressant": True},
                  "endpoints": {"timepoints": ["2 h", "1 d", "7 d"], "remission": 10}},
        "arm": [{"name": "placebo", "dose": [{"drug": "saline", "route": "intranasal", "amount": "0 mg", "at": ["0 d", "3 d"]}]},
                *[{"name": f"esketamine {mg} mg", "dose": [{"drug": "esketamine", "route": "intranasal", "amount": f"{mg} mg",
                                                          "at": ["0 d", "3 d"]}]} for mg in (28, 56, 84)]],
    },
    # fava2018 (held out): single 40-min IV infusions of 0.1-1.0 mg/kg vs midazolam, adjunctive, HAM-D6.
    "dose": {
        "trial": {"id": "validation-ketamine-dose", "population": "trd", "scale": "HAMD6", "n_per_arm": 400, "seed": 2029,
                  "inclusion": {"on_stable_antidepressant": True},
                  "endpoints": {"timepoints": ["1 d", "3 d"]}},
        "arm": [*[{"name": f"ketamine {d} mg/kg", "dose": [{**_INFUSION, "amount": f"{d} mg/kg", "at": ["0 d"]}]}
                  for d in (0.1, 0.2, 0.5, 1.0)],
                {"name": "midazolam", "dose": [{"drug": "midazolam", "amount": "0.045 mg/kg", "duration": "40 min", "at": ["0 d"]}]}],
    },
}


def run_calibration_trials(model: PopulationModel, n_per_arm: int | None = None,
                           names=None) -> dict[str, TrialResult]:
    """Run the calibration trials ``names`` (default: all)."""
    names = CALIBRATION_TRIALS if names is None else names
    return {name: run_trial(parse_spec(CALIBRATION_TRIALS[name]), model=model, n_per_arm=n_per_arm) for name in names}


def _tp(summary_arm, label):
    return next(t for t in summary_arm["timepoints"] if t["time"] == label)


def _contrast(summary, arms, label):
    return next(c for c in summary["contrasts"] if c["arms"] == arms and c["time"] == label)


def simulated_value(t: Target, results: dict[str, TrialResult]) -> float | None:
    res = results[t.trial]
    s = res.summary
    if " vs " in t.arm:
        a, b = t.arm.split(" vs ")
        if t.metric == "risk_ratio_response":
            ra, rb = _tp(s["arms"][a], t.time)["response_rate"], _tp(s["arms"][b], t.time)["response_rate"]
            return ra / rb if rb > 0 else math.inf
        return _contrast(s, [a, b], t.time)[t.metric]
    if t.arm == "ketamine (enriched)":
        return _enriched(res, t)
    arm = s["arms"][t.arm]
    if t.metric in ("response_rate", "remission_rate", "mean_change"):
        return _tp(arm, t.time)[t.metric]
    if t.metric == "median_days_to_relapse":
        return arm["relapse"]["median_days_to_relapse"]
    if t.metric in ("sbp_largest_mean_rise", "dbp_largest_mean_rise", "heart_rate_largest_mean_rise"):
        return arm["safety"][t.metric]
    if t.metric == "share_bp_rise_label":
        p = res.patients[(res.patients["arm"] == t.arm) & (res.patients["status"] == "ok")]
        return float(((p["sbp_rise_peak"] >= 40.0) | (p["dbp_rise_peak"] >= 25.0)).mean())
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


def evaluate(model: PopulationModel, *, n_per_arm: int | None = None, targets=TARGETS,
             results: dict[str, TrialResult] | None = None) -> list[dict]:
    """One row per target: study, arm, time, metric, published (value, lo, hi), simulated, z, CI holds."""
    if results is None:
        results = run_calibration_trials(model, n_per_arm, names=sorted({t.trial for t in targets}))
    rows = []
    for t in targets:
        sim = simulated_value(t, results)
        rows.append({"study": t.study, "trial": t.trial, "arm": t.arm, "time": t.time, "time_h": t.time_h,
                     "metric": t.metric, "value": t.value, "lo": t.lo, "hi": t.hi, "se": t.se, "use": t.use,
                     "simulated": None if sim is None else float(sim), "z": t.z(sim), "ci_holds": t.ci_holds(sim),
                     "note": t.note})
    return rows
