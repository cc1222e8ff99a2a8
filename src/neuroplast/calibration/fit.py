"""Fit the free parameters to the calibration targets (reproducible: fixed seeds, fixed start).

Every stage starts from the parameter table alone (:func:`start_model`), never from a past ``fitted.json``, so
``neuroplast calibrate`` run again writes the committed fit again.

Stage 1 (mechanistic anchors, closed form): the ketamine central volume so that 0.5 mg/kg
over 40 min peaks at 185 ng/mL in a 70 kg patient (A34), and the CADSS slope so that the
mean peak CADSS is 7.7 (wilkinson2018_cadss_ketamine).
Stage 2 (clinical): Nelder-Mead on the log of the free parameters, minimising the sum of
squared z-scores of the ``fit`` targets (each on ``sqrt(se^2 + tau^2)``: its own error and, for a single trial, the
between-study SD of ``evidence.heterogeneity``), with common random numbers (fixed cohorts), each
trial solved by the engine fastest on it (the fast engine: every stage-2 trial is an infusion
or a spray), and the blood-pressure and pulse slopes solved in closed form (the mean rise is
linear in each). The residuals written are the reference engine's, at the same patients.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np
import scipy.optimize

from .. import parameters
from ..cohort import typical_patient
from ..evidence.targets import SLOW_TARGETS, TARGETS
from ..model import Model
from ..scales.pk import closed_form_linear
from ..simulation import default_model
from .evaluate import evaluate, run_calibration_trials

FREE = (
    "spine_gain",
    "responsiveness_cv",
    "expectancy_base",
    "expectancy_cv",
    "expectancy_felt",
    "expectancy_open",
    "tau_expectancy",
    "disinhibition_gain",
    "w_eef2",
    "stress_relief_coupling",
)
BOUNDS = {
    "spine_gain": (0.1, 100.0),
    "responsiveness_cv": (0.05, 3.0),
    "expectancy_base": (0.0, 0.5),
    "expectancy_cv": (0.05, 3.0),
    "expectancy_felt": (0.0, 0.6),
    "expectancy_open": (0.01, 3.0),
    "tau_expectancy": (6.0, 24.0 * 60),
    "disinhibition_gain": (1.0, 20.0),
    "w_eef2": (0.0, 3.0),
    "stress_relief_coupling": (0.0, 1.0),
}
"""Search bounds: the non-specific
improvement of control arms (expectancy, with the natural course it stands in for) within 60 days; knowing the
treatment (open label) from 1 % to four times the blinded base expectancy (the search is on the log scale); relief
lifting at most the whole stress load."""

SLOPES = {
    "sbp_per_100ng": "sbp_largest_mean_rise",
    "dbp_per_100ng": "dbp_largest_mean_rise",
    "hr_per_100ng": "heart_rate_largest_mean_rise",
}
"""Safety slopes solved in closed form after the search (the mean rise is linear in each)."""

SIMPLEX_STEP = 0.3
"""Size of Nelder-Mead's first simplex on the log scale: each vertex moves one parameter by a factor e^0.3 = 1.35
(towards the inside of its bounds). SciPy's default, 5 % of the coordinate, is a step of 5 % of the *log*: nearly
nothing for a value near 1 (log near 0), so the search never left the start in those directions."""


def first_simplex(x0: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Nelder-Mead's first simplex around the log parameters ``x0``: ``x0`` and one vertex per parameter, moved by
    :data:`SIMPLEX_STEP` (down where up would pass the upper bound ``hi``)."""
    return np.vstack([x0, x0 + np.diag(np.where(x0 + SIMPLEX_STEP <= hi, SIMPLEX_STEP, -SIMPLEX_STEP))])


N_PER_ARM = 1000
"""Patients per arm of every stage-2 evaluation (the same patients each time): the Monte Carlo error of a rate,
at most 0.016, is a fraction of the targets' standard errors."""

PEAK_NG_ML = 185.0  # A34

CADSS_MEAN = 7.7  # wilkinson2018_cadss_ketamine


def _ketamine_peak(values, v1):
    """Peak plasma and effect-site racemic ketamine (ng/mL), typical 70 kg patient, 0.5 mg/kg over 40 min."""
    ind = Model.build({**values, "v1_ket": v1}, typical_patient(values))
    pk = type(ind.ketamine)(*[np.asarray(getattr(ind.ketamine, f))[0] for f in ind.ketamine.__dataclass_fields__])
    a, b = pk.system()
    umol = 0.5 * 70.0 * 1000.0 / 237.73
    ts = np.linspace(0.0, 2.0, 241)
    x = closed_form_linear(a, b @ np.array([0.5, 0.5, 0.0, 0.0, 0.0]), [(0.0, 40 / 60, umol / (40 / 60))], ts)
    return (x[:, 0] + x[:, 3]).max() / float(pk.v1) * 237.73, (x[:, 11] + x[:, 12]).max() * 237.73


def stage1(values: dict) -> dict:
    v1 = scipy.optimize.brentq(lambda v: _ketamine_peak(values, v)[0] - PEAK_NG_ML, 10.0, 500.0, xtol=1e-8)
    _, ce_peak = _ketamine_peak(values, v1)
    cv = parameters.cvs()["cadss_per_100ng"]
    slope = CADSS_MEAN / (math.sqrt(1 + cv * cv) * ce_peak / 100.0)  # mean of a median-1 log-normal
    return {"v1_ket": v1, "cadss_per_100ng": slope}


def start_model() -> parameters.PopulationModel:
    """The model at the parameter table's values (with their between-patient CVs), ignoring ``fitted.json``: the
    start of stage 2, and the values of every stage-3 parameter while stage 2 runs."""
    return parameters.PopulationModel(parameters.table_values(), parameters.cvs())


def _objective_rows(model, n):
    targets = [t for t in TARGETS if t.use == "fit" and t.stage == "ketamine"]
    results = run_calibration_trials(model, n, names=sorted({t.trial for t in targets}), fastest=True)
    return evaluate(model, targets=targets, results=results)


def fit(*, n_per_arm: int = N_PER_ARM, max_evals: int = 300, write: bool = True, log=print) -> dict:
    """Run both stages; write ``fitted.json`` (values, objective, residuals) unless ``write=False``.

    The defaults are the settings of the committed ``fitted.json`` (its ``n_per_arm``, ``max_evals``, ``command``)."""
    t0 = time.time()
    base = start_model()
    anchors = stage1(base.values)
    log(f"stage 1: v1_ket = {anchors['v1_ket']:.2f} L, cadss_per_100ng = {anchors['cadss_per_100ng']:.3f}")
    model0 = base.with_values(**anchors, **{p: 1.0 for p in SLOPES})
    x0 = np.log([min(max(model0.values[k], BOUNDS[k][0] * 1.01 + 1e-3), BOUNDS[k][1] * 0.99) for k in FREE])
    lo, hi = np.log([max(BOUNDS[k][0], 1e-4) for k in FREE]), np.log([BOUNDS[k][1] for k in FREE])
    history = []

    def f(x):
        x = np.clip(x, lo, hi)
        m = model0.with_values(**dict(zip(FREE, np.exp(x).tolist())))
        rows = [r for r in _objective_rows(m, n_per_arm) if r["metric"] not in SLOPES.values()]
        obj = float(sum(r["z"] ** 2 for r in rows))
        history.append(obj)
        if len(history) % 10 == 1:
            log(f"  eval {len(history):4d}  objective {obj:9.3f}  best {min(history):9.3f}  ({time.time() - t0:.0f} s)")
        return obj

    options = {
        "maxfev": max_evals,
        "xatol": 1e-3,
        "fatol": 1e-3,
        "adaptive": True,
        "initial_simplex": first_simplex(x0, hi),
    }
    res = scipy.optimize.minimize(f, x0, method="Nelder-Mead", options=options)
    best = dict(zip(FREE, np.exp(np.clip(res.x, lo, hi)).tolist()))
    model = model0.with_values(**best)
    # Blood pressure and pulse: the mean rise is proportional to the slope, so least squares is closed form.
    results = run_calibration_trials(model, n_per_arm, names=["single"], fastest=True)
    for param, metric in SLOPES.items():
        targets = [t for t in TARGETS if t.use == "fit" and t.stage == "ketamine" and t.metric == metric]
        rise1 = getattr(results["single"].summary.arms["ketamine"].safety, metric)  # at slope 1
        w = np.array([1 / t.se**2 for t in targets])
        v = np.array([t.value for t in targets])
        best[param] = float((w * v).sum() / (w.sum() * rise1))
    model = model.with_values(**{p: best[p] for p in SLOPES})
    rows = evaluate(model, n_per_arm=n_per_arm, targets=[t for t in TARGETS if t.stage == "ketamine"])
    fitted = {**anchors, **best}
    fit_rows = [r for r in rows if r["use"] == "fit"]
    out: dict[str, Any] = {
        "description": "Fitted by neuroplast.calibration.fit (neuroplast calibrate); do not edit by hand.",
        "method": "stage 1 closed-form anchors; stage 2 Nelder-Mead on log-parameters, objective = sum of squared z of the fit targets",
        "n_per_arm": n_per_arm,
        "max_evals": max_evals,
        "command": f"neuroplast calibrate --stage all --n-per-arm {n_per_arm} --max-evals {max_evals}",
        "evaluations": len(history),
        "seconds": round(time.time() - t0, 1),
        "objective": float(sum(r["z"] ** 2 for r in fit_rows)),
        "values": fitted,
        "residuals": [
            {k: r[k] for k in ("study", "arm", "time", "metric", "value", "simulated", "z", "use")} for r in rows
        ],
    }
    if write:
        if parameters.FITTED_PATH.exists():  # keep stage 3 (the slow scales), fitted separately
            old = json.loads(parameters.FITTED_PATH.read_text())
            if "slow" in old:
                out["values"].update(old["slow"]["values"])
                out["slow"] = old["slow"]
        parameters.FITTED_PATH.write_text(json.dumps(out, indent=1) + "\n")
        parameters.fitted_values.cache_clear()
    log(f"objective {out['objective']:.2f} after {len(history)} evaluations ({out['seconds']} s)")
    return out


def reevaluate(*, write: bool = True, log=print) -> dict:
    """Recompute the residuals of stage 2 (ketamine) and stage 3 (slow scales) with the committed values, without
    refitting: for a release that changes what the fit does not see — a held-out read-out, or states that leave the
    trials' equations unchanged but move the solver's steps (its error norm spans every state) and so the last
    digits of simulated values. The objectives are updated; values are not."""
    data = json.loads(parameters.FITTED_PATH.read_text())
    keys = ("study", "arm", "time", "metric", "value", "simulated", "z", "use")
    for stage, doc, targets in (
        ("stage 2", data, [t for t in TARGETS if t.stage == "ketamine"]),
        ("stage 3", data["slow"], SLOW_TARGETS),
    ):
        rows = evaluate(default_model(), n_per_arm=doc["n_per_arm"], targets=targets)
        old = doc["objective"]
        doc["objective"] = float(sum(r["z"] ** 2 for r in rows if r["use"] == "fit"))
        doc["residuals"] = [{k: r[k] for k in keys} for r in rows]
        log(f"{stage} objective {old:.3f} -> {doc['objective']:.3f} (values unchanged)")
    data["reevaluated"] = "residuals recomputed with the committed values (neuroplast calibrate --stage recheck)"
    if write:
        parameters.FITTED_PATH.write_text(json.dumps(data, indent=1) + "\n")
    return data


__all__ = ["BOUNDS", "FREE", "N_PER_ARM", "fit", "reevaluate", "stage1"]
