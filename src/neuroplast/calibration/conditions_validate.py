"""The condition endpoints of ``neuroplast validate``: rows like :func:`neuroplast.calibration.evaluate.evaluate`.

Each endpoint is simulated through the ordinary trial machinery (trial spec, cohorts, rater noise,
``summary.json`` keys). ``use``: ``fit`` (a calibration-set number the condition calibration fitted) or
``direction`` (only a direction was read: ``value`` is the bound 0, ``ci_holds`` says whether the sign is
right). Trials outside the calibration set are never compared here: their outcomes are left for others to
test the model against.
Binomial CIs are exact (Clopper-Pearson); a contrast's CI is 1.96 SE.
"""

from __future__ import annotations

import math

from scipy import stats

from .._units import parse_quantity
from ..trials import parse_spec, run_trial
from .conditions import FEDER

_KET = {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min"}
_MDZ = {"drug": "midazolam", "route": "iv", "amount": "0.045 mg/kg", "duration": "40 min"}
_SAL = {"drug": "saline", "route": "iv", "amount": "0 mg", "duration": "40 min"}


def _spec(tid, population, scale, timepoints, arms, response=0.5, seed=3001, blinding="double"):
    return {
        "trial": {
            "id": tid,
            "population": population,
            "scale": scale,
            "blinding": blinding,
            "n_per_arm": 100,
            "seed": seed,
            "endpoints": {"timepoints": timepoints, "response": response},
        },
        "arm": [{"name": name, "dose": [dose]} for name, dose in arms],
    }


TRIALS = {
    "ptsd_single": _spec(
        "conditions-feder2014",
        "ptsd",
        "IESR",
        ["1 d"],
        [("ketamine", {**_KET, "at": ["0 d"]}), ("midazolam", {**_MDZ, "at": ["0 d"]})],
        seed=3001,
    ),
    "ocd_rodriguez": _spec(
        "conditions-rodriguez2013",
        "ocd",
        "YBOCS",
        ["7 d"],
        [("ketamine", {**_KET, "at": ["0 d"]}), ("saline", {**_SAL, "at": ["0 d"]})],
        0.35,
        seed=3003,
    ),
    "ocd_bloch": _spec(
        "conditions-bloch2012",
        "ocd",
        "YBOCS",
        ["1 d", "2 d", "3 d"],
        [("ketamine", {**_KET, "at": ["0 d"]})],
        0.35,
        seed=3004,
        blinding="open",  # bloch2012_ocd was open label
    ),
    "aud": _spec(
        "conditions-dakwar2020",
        "alcohol_use_disorder",
        "PDD",
        ["21 d"],
        [
            ("ketamine", {**_KET, "amount": "0.71 mg/kg", "duration": "52 min", "at": ["0 d"]}),
            ("midazolam", {**_MDZ, "amount": "0.025 mg/kg", "duration": "52 min", "at": ["0 d"]}),
        ],
        seed=3005,
    ),
}


USE = {"feder2014": "fit", "rodriguez2013_ocd": "fit", "bloch2012_ocd": "fit", "dakwar2020_alcohol": "direction"}
"""Each condition study's use (registered in ``evidence/roles.yaml``)."""


def _exact(k, n):
    lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    return float(lo), float(hi)


def _row(study, trial, arm, time, metric, value, simulated, use, *, lo=None, hi=None, se=None, note=""):

    holds = None if simulated is None or lo is None else bool(lo <= simulated <= hi)
    z = None if simulated is None or not se else (simulated - value) / se
    return {
        "study": study,
        "trial": trial,
        "arm": arm,
        "time": time,
        "time_h": None
        if time is None or " " not in time or "-" in time
        else parse_quantity(time, "time", field="time"),
        "metric": metric,
        "value": value,
        "lo": lo,
        "hi": hi,
        "se": se,
        "use": use,
        "simulated": simulated,
        "z": z,
        "ci_holds": holds,
        "note": note,
    }


def _rate_row(study, trial, arm, time, k, n, simulated, use, note=""):
    lo, hi = _exact(k, n)
    p = k / n
    se = math.sqrt(max(p * (1 - p), 0.25 / n) / n)  # binomial; floored at 0 and n so the z stays finite
    return _row(study, trial, arm, time, "response_rate", p, simulated, use, lo=lo, hi=hi, se=se, note=note)


def _contrast(summary, time):
    return next(c for c in summary.contrasts if c.time == time)


def run_trials(model, n_per_arm: int = 400, names=None) -> dict:

    names = list(TRIALS) if names is None else names
    return {name: run_trial(parse_spec(TRIALS[name]), model=model, n_per_arm=n_per_arm) for name in names}


def evaluate_conditions(model, *, n_per_arm: int = 400, results: dict | None = None) -> list[dict]:
    """One row per condition endpoint (keys as :func:`neuroplast.calibration.evaluate.evaluate`)."""
    r = run_trials(model, n_per_arm) if results is None else results
    rows = []
    s = r["ptsd_single"].summary
    rows.append(
        _row(
            "feder2014",
            "ptsd_single",
            "ketamine vs midazolam",
            "1 d",
            "mean_difference",
            -FEDER["value"],
            _contrast(s, "1 d").mean_difference,
            USE["feder2014"],
            se=FEDER["se"],
            lo=-FEDER["value"] - 1.96 * FEDER["se"],
            hi=-FEDER["value"] + 1.96 * FEDER["se"],
            note="IES-R; a crossover in the study, a parallel trial here; SE from p = 0.02",
        )
    )
    for arm, (k, n) in (("ketamine", (4, 8)), ("saline", (0, 7))):
        rows.append(
            _rate_row(
                "rodriguez2013_ocd",
                "ocd_rodriguez",
                arm,
                "7 d",
                k,
                n,
                r["ocd_rodriguez"].summary.arms[arm].at("7 d").response_rate,
                USE["rodriguez2013_ocd"],
                note="Y-BOCS >= 35% reduction; first phase of the crossover",
            )
        )
    p = r["ocd_bloch"].patients
    p = p[p["status"] == "ok"]
    anyday = (p["response_1 d"] | p["response_2 d"] | p["response_3 d"]).mean()
    rows.append(
        _rate_row(
            "bloch2012_ocd",
            "ocd_bloch",
            "ketamine",
            "days 1-3",
            0,
            10,
            float(anyday),
            USE["bloch2012_ocd"],
            note="responder at any visit on days 1-3; open label",
        )
    )
    for scale_note in ("PDD",):
        d = _contrast(r["aud"].summary, "21 d").mean_difference
        rows.append(
            _row(
                "dakwar2020_alcohol",
                "aud",
                "ketamine vs midazolam",
                "21 d",
                f"mean_difference < 0 ({scale_note})",
                0.0,
                d,
                USE["dakwar2020_alcohol"],
                note="numbers NOT READ: only the direction (ketamine better) is checked",
            )
        )
        rows[-1]["ci_holds"] = bool(d < 0)
    return rows


__all__ = ["TRIALS", "USE", "evaluate_conditions", "run_trials"]
