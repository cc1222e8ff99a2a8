"""Simulate the calibration trials and compute every target's simulated value."""

from __future__ import annotations

from typing import Any

from ..engine import Engine, Fast, Tsit5
from ..evidence.targets import TARGETS
from ..simulation import PopulationModel
from ..trials import TrialResult, parse_spec, run_trial
from ..trials.compare import simulated_value

_INFUSION = {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min"}
_SSRI = {"drug": "escitalopram", "route": "oral", "amount": "20 mg", "start": "0 d", "every": "1 d", "count": 84}
_CBT = {"kind": "cbt", "start": "0 d", "every": "7 d", "count": 12}

CALIBRATION_TRIALS: dict[str, dict[str, Any]] = {
    # The trd preset with the usual inclusion of the IV ketamine RCTs (murrough2013_ajp).
    "single": {
        "trial": {
            "id": "calibration-single-infusion",
            "population": "trd",
            "scale": "MADRS",
            "n_per_arm": 400,
            "seed": 2026,
            "inclusion": {"min_baseline": 22, "medication_free": True},
            "endpoints": {"timepoints": ["40 min", "2 h", "230 min", "4 h", "1 d", "3 d", "7 d"], "remission": 10},
        },
        "arm": [
            {"name": "ketamine", "dose": [{**_INFUSION, "at": ["0 d"]}]},
            {
                "name": "midazolam",
                "dose": [{"drug": "midazolam", "amount": "0.045 mg/kg", "duration": "40 min", "at": ["0 d"]}],
            },
            {"name": "saline", "dose": [{"drug": "saline", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}]},
        ],
    },
    # murrough2013_biolpsych / aanhetrot2010: days 1, 3, 5, 8, 10, 12 (0, 2, 4, 7, 9, 11 d from the first dose);
    # both open label.
    "repeated": {
        "trial": {
            "id": "calibration-repeated-infusions",
            "population": "trd",
            "blinding": "open",
            "scale": "MADRS",
            "n_per_arm": 400,
            "seed": 2027,
            "inclusion": {"min_baseline": 22, "medication_free": True},
            "endpoints": {"timepoints": ["2 h", "1 d", "12 d"], "remission": 10, "follow_up": "83 d"},
        },
        "arm": [{"name": "ketamine", "dose": [{**_INFUSION, "at": ["0 d", "2 d", "4 d", "7 d", "9 d", "11 d"]}]}],
    },
    # daly2018_synapse period 1: adjunctive intranasal esketamine or placebo on days 1 and 4 (0 and 3 d).
    "esketamine": {
        "trial": {
            "id": "calibration-esketamine-dose",
            "population": "trd",
            "scale": "MADRS",
            "n_per_arm": 400,
            "seed": 2028,
            "inclusion": {"min_baseline": 22, "on_stable_antidepressant": True},
            "endpoints": {"timepoints": ["2 h", "1 d", "7 d"], "remission": 10},
        },
        "arm": [
            {
                "name": "placebo",
                "dose": [{"drug": "saline", "route": "intranasal", "amount": "0 mg", "at": ["0 d", "3 d"]}],
            },
            *[
                {
                    "name": f"esketamine {mg} mg",
                    "dose": [{"drug": "esketamine", "route": "intranasal", "amount": f"{mg} mg", "at": ["0 d", "3 d"]}],
                }
                for mg in (28, 56, 84)
            ],
        ],
    },
    # ---- slow scales: weeks to months, the mdd preset unless said otherwise -------------------
    # Placebo-controlled SSRI trial: escitalopram 20 mg/day stands in for citalopram 40 mg/day (the S-enantiomer
    # carries the activity; STAR*D mean exit dose 41.8 mg, trivedi2006_stard_level1), HAM-D17 >= 14 at entry.
    "ssri": {
        "trial": {
            "id": "calibration-ssri-vs-placebo",
            "population": "mdd",
            "scale": "HAMD17",
            "n_per_arm": 400,
            "seed": 2030,
            "inclusion": {"min_baseline": 14},
            "endpoints": {"timepoints": ["7 d", "14 d", "28 d", "42 d", "56 d", "84 d"], "remission": 7},
        },
        "arm": [
            {"name": "escitalopram", "dose": [_SSRI]},
            {"name": "placebo", "dose": [{**_SSRI, "drug": "placebo", "amount": "0 mg"}]},
        ],
    },
    # STAR*D level 1 on its self-report (QIDS-SR16 >= 11, about HAM-D17 >= 14 by the Rush 2003 table); open label.
    "stard": {
        "trial": {
            "id": "calibration-stard-level1",
            "population": "mdd",
            "blinding": "open",
            "scale": "QIDS_SR16",
            "n_per_arm": 400,
            "seed": 2031,
            "inclusion": {"min_baseline": 11},
            "endpoints": {"timepoints": ["56 d", "84 d"], "remission": 5},
        },
        "arm": [{"name": "escitalopram", "dose": [_SSRI]}],
    },
    # Psychotherapy trials: 12 weekly CBT sessions vs a wait list; SSRI and combined arms for the held-out
    # comparisons of cuijpers2023_cbt; follow-up to 9 months (treatment stops at 12 weeks).
    "psychotherapy": {
        "trial": {
            "id": "calibration-psychotherapy",
            "population": "mdd",
            "scale": "HAMD17",
            "n_per_arm": 400,
            "seed": 2032,
            "inclusion": {"min_baseline": 14},
            "endpoints": {"timepoints": ["70 d", "84 d", "270 d"], "remission": 7},
        },
        "arm": [
            {"name": "cbt", "therapy": [_CBT]},
            {"name": "wait list"},
            {"name": "escitalopram", "dose": [_SSRI]},
            {"name": "cbt + escitalopram", "dose": [_SSRI], "therapy": [_CBT]},
        ],
    },
    # Supervised moderate exercise three times a week for 12 weeks vs usual care (noetel2024_exercise).
    "exercise": {
        "trial": {
            "id": "calibration-exercise",
            "population": "mdd",
            "scale": "HAMD17",
            "n_per_arm": 400,
            "seed": 2033,
            "inclusion": {"min_baseline": 14},
            "endpoints": {"timepoints": ["84 d"], "remission": 7},
        },
        "arm": [
            {"name": "exercise", "therapy": [{"kind": "exercise", "start": "0 d", "every": "56 h", "count": 36}]},
            {"name": "usual care"},
        ],
    },
    # wilkinson2017_cbt: four infusions in two weeks with 12 CBT sessions over 10 weeks (twice weekly for the
    # first two weeks, then weekly), TRD; relapse counted over 8 weeks from the last infusion; open label.
    "ketamine_cbt": {
        "trial": {
            "id": "calibration-ketamine-cbt",
            "population": "trd",
            "blinding": "open",
            "scale": "MADRS",
            "n_per_arm": 400,
            "seed": 2034,
            "inclusion": {"min_baseline": 22, "medication_free": True},
            "endpoints": {"timepoints": ["12 d", "70 d"], "remission": 10, "follow_up": "56 d"},
        },
        "arm": [
            {
                "name": "ketamine + cbt",
                "dose": [{**_INFUSION, "at": ["0 d", "3 d", "7 d", "10 d"]}],
                "therapy": [
                    {"kind": "cbt", "at": ["1 d", "4 d", "8 d", "11 d"]},
                    {"kind": "cbt", "start": "14 d", "every": "7 d", "count": 8},
                ],
            },
            {"name": "ketamine", "dose": [{**_INFUSION, "at": ["0 d", "3 d", "7 d", "10 d"]}]},
        ],
    },
}


FAST_TRIALS = ("single", "repeated", "esketamine", "ketamine_cbt")
"""The infusion and spray trials: the fast engine solves the infusion trials 3-7x faster than the reference engine
and the spray trial about as fast; the reference engine is the faster on daily tablets and therapy alone
(benchmarks/README.md, the objective benchmark)."""


def fastest_engine(name: str) -> Engine:
    """The engine that evaluates calibration trial ``name`` fastest (the same patients either way)."""
    return Fast() if name in FAST_TRIALS else Tsit5(rtol=1e-5, atol=1e-8)


def run_calibration_trials(
    model: PopulationModel,
    n_per_arm: int | None = None,
    names=None,
    *,
    engine: Engine | None = None,
    fastest: bool = False,
) -> dict[str, TrialResult]:
    """Run the calibration trials ``names`` (default: all), with ``engine`` (default: :func:`run_trial`'s), or with
    ``fastest``, each with :func:`fastest_engine` (what the fit and the identifiability analysis use)."""
    names = CALIBRATION_TRIALS if names is None else names
    out = {}
    for name in names:
        chosen = fastest_engine(name) if fastest else engine
        options = {} if chosen is None else {"engine": chosen}
        out[name] = run_trial(parse_spec(CALIBRATION_TRIALS[name]), model=model, n_per_arm=n_per_arm, **options)
    return out


def evaluate(
    model: PopulationModel,
    *,
    n_per_arm: int | None = None,
    targets=TARGETS,
    results: dict[str, TrialResult] | None = None,
) -> list[dict]:
    """One row per target: study, arm, time, metric, published (value, lo, hi), simulated, z, CI holds."""
    if results is None:
        results = run_calibration_trials(model, n_per_arm, names=sorted({t.trial for t in targets}))
    rows = []
    for t in targets:
        sim = simulated_value(t, results)
        rows.append(
            {
                "study": t.study,
                "trial": t.trial,
                "arm": t.arm,
                "time": t.time,
                "time_h": t.time_h,
                "metric": t.metric,
                "value": t.value,
                "lo": t.lo,
                "hi": t.hi,
                "se": t.se,
                "use": t.use,
                "simulated": None if sim is None else float(sim),
                "z": t.z(sim),
                "ci_holds": t.ci_holds(sim),
                "note": t.note,
            }
        )
    return rows
