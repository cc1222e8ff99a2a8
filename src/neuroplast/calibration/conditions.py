"""Calibrate the condition parameters on the calibration set only; write ``fitted.json``.

Run: ``python -m neuroplast.calibration.conditions`` or ``neuroplast calibrate-conditions``.

The ketamine model's fitted values are fixed inputs. Condition parameters act after the solve
(:mod:`._symptoms`), so each calibration trial is simulated once, with fixed seeds (common random
numbers), and the objective is evaluated on those read-outs; the fit is then deterministic.

* ``ptsd_gain`` — feder2014: IES-R 12.7 points lower 24 h after ketamine than after midazolam
  (p = 0.02; SE = 12.7 / 2.326 from the two-sided p value). The crossover is simulated as one
  cohort given each infusion (no carry-over or period effect in the model). Objective: z of the mean
  true IES-R difference (rater noise has mean zero); solved for z = 0.
* ``ocd_gain``, ``ocd_expectancy_share`` — binomial log-likelihood of the responder counts
  (>= 35% Y-BOCS reduction): rodriguez2013_ocd ketamine 4/8 and saline 0/7 at 1 week,
  bloch2012_ocd 0/10 on days 1-3. A patient's response probability is smooth in the parameters:
  ``P = Phi(-(S_t - 0.65 S_0) / (sd sqrt(1 + 0.65^2)))`` with true scores ``S`` and independent rater
  noise ``sd`` at both visits (rounding ignored); bloch's "responder on any of days 1-3" integrates
  over the shared baseline rating (:func:`response_probability`). The two studies disagree; each is
  also fitted alone and reported.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
from scipy import optimize, stats

from ..conditions import _symptoms, ocd, ptsd
from ..parameters.conditions import FITTED_PATH, FREE

N = 300  # virtual patients per simulated arm (the fit's Monte-Carlo SE is reported)
SEEDS = {"feder2014": 5101, "rodriguez2013_ocd ketamine": 5102, "rodriguez2013_ocd saline": 5103, "bloch2012_ocd": 5104}
FEDER = {"value": 12.7, "se": 12.7 / stats.norm.isf(0.01)}
OCD_COUNTS = {"rodriguez2013_ocd ketamine": (4, 8), "rodriguez2013_ocd saline": (0, 7), "bloch2012_ocd": (0, 10)}
BOUNDS = {"ptsd_gain": (0.0, 8.0), "ocd_gain": (0.0, 6.0), "ocd_expectancy_share": (0.0, 1.0)}
"""Search bounds of the condition parameters (the identifiability analysis cuts their intervals here too)."""
_KET = {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}
_MDZ = {"drug": "midazolam", "route": "iv", "amount": "0.045 mg/kg", "duration": "40 min", "at": ["0 d"]}
_SAL = {"drug": "saline", "route": "iv", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}


def simulate_calibration(model, n: int = N) -> dict:
    """Simulate every calibration arm once: name -> (readouts with the sub-circuit activities, cohort table,
    save times in h, ok). The activities do not depend on the condition parameters, so they are computed once."""
    from ..cohort import sample_cohort
    from ..regimen import build_regimen
    from ..simulation import simulate

    v, cvs = model.values, model.cvs
    out = {}
    ptsd_cohort = sample_cohort(v, cvs, "ptsd", n, seed=SEEDS["feder2014"])
    ts = np.array([0.0, 24.0])
    for arm, dose in (("ketamine", _KET), ("midazolam", _MDZ)):
        sim = simulate(model, build_regimen([dose]), ptsd_cohort, saveat=ts)
        out[f"feder2014 {arm}"] = (_symptoms.with_subcircuits(sim.readouts, v), sim.cohort.table, ts, sim.ok)
    for name, dose, ts in (
        ("rodriguez2013_ocd ketamine", _KET, np.array([0.0, 168.0])),
        ("rodriguez2013_ocd saline", _SAL, np.array([0.0, 168.0])),
        ("bloch2012_ocd", _KET, np.array([0.0, 24.0, 48.0, 72.0])),
    ):
        # bloch2012_ocd was open label: its patients knew they were given ketamine
        cohort = sample_cohort(v, cvs, "ocd", n, seed=SEEDS[name]).told(name == "bloch2012_ocd")
        sim = simulate(model, build_regimen([dose]), cohort, saveat=ts)
        out[name] = (_symptoms.with_subcircuits(sim.readouts, v), sim.cohort.table, ts, sim.ok)
    return out


def feder_difference(sims, values) -> float:
    """Mean true IES-R at 24 h, midazolam minus ketamine, over patients who finished both."""
    rk, tk, _, okk = sims["feder2014 ketamine"]
    rm, tm, _, okm = sims["feder2014 midazolam"]
    ok = okk & okm
    ik = ptsd.SCALES[2]["true"](rk, tk, values)[:, 1]
    im = ptsd.SCALES[2]["true"](rm, tm, values)[:, 1]
    return float(np.mean((im - ik)[ok]))


def response_probability(sim, values) -> float:
    """Expected share of Y-BOCS responders (>= 35% reduction) at any saved visit after baseline.

    Rater noise ``sd`` is independent at each visit; the baseline rating's noise ``e0`` is shared by
    all visits, so ``P(any) = E_e0[1 - prod_t (1 - Phi(((1 - r)(S_0 + e0) - S_t) / sd))]``, the
    expectation by Gauss-Hermite quadrature (40 nodes). Rounding and clipping of ratings are ignored.
    """
    ro, table, ts, ok = sim
    s = np.asarray(ocd.SCALES[0]["true"](ro, table, values))
    keep = 1.0 - ocd.RESPONSE
    sd = values["ybocs_noise_sd"]
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    e0 = sd * nodes[:, None, None]  # (nodes, 1, 1)
    p_t = stats.norm.cdf((keep * (s[None, :, :1] + e0) - s[None, :, 1:]) / sd)  # (nodes, n, visits)
    p_any = weights @ (1.0 - np.prod(1.0 - p_t, axis=2))  # (n,)
    return float(np.clip(p_any[ok].mean(), 1e-9, 1 - 1e-9))


def ocd_loglik(sims, values, names=tuple(OCD_COUNTS)) -> float:
    ll = 0.0
    for name in names:
        k, n = OCD_COUNTS[name]
        p = response_probability(sims[name], values)
        ll += k * math.log(p) + (n - k) * math.log(1.0 - p)
    return ll


def _fit_ocd(sims, values, names, fix_share=None):
    def nll(x):
        g, e = x if fix_share is None else (x[0], fix_share)
        return -ocd_loglik(sims, {**values, "ocd_gain": g, "ocd_expectancy_share": e}, names)

    if fix_share is None:
        grid = [(g, e) for g in np.linspace(0.0, 4.0, 9) for e in np.linspace(0.0, 1.0, 5)]
        x0 = min(grid, key=nll)
        res = optimize.minimize(
            nll,
            x0,
            method="L-BFGS-B",
            bounds=[BOUNDS["ocd_gain"], BOUNDS["ocd_expectancy_share"]],
            options={"ftol": 1e-14, "gtol": 1e-9},
        )
        g, e = res.x
    else:
        res = optimize.minimize_scalar(
            lambda g: nll([g]), bounds=BOUNDS["ocd_gain"], method="bounded", options={"xatol": 1e-9}
        )
        g, e = res.x, fix_share
    vals = {**values, "ocd_gain": float(g), "ocd_expectancy_share": float(e)}
    return {
        "ocd_gain": float(g),
        "ocd_expectancy_share": float(e),
        "loglik": -float(res.fun),
        "response": {name: response_probability(sims[name], vals) for name in OCD_COUNTS},
    }


def fit(model=None, n: int = N, sims=None) -> dict:
    """Fit the free condition parameters; returns the ``fitted.json`` content."""
    from ..simulation import default_model

    model = default_model() if model is None else model
    t0 = time.time()
    sims = simulate_calibration(model, n) if sims is None else sims
    v = dict(model.values)

    def feder_z(g):
        return (feder_difference(sims, {**v, "ptsd_gain": g}) - FEDER["value"]) / FEDER["se"]

    lo, hi = BOUNDS["ptsd_gain"]
    g_ptsd = (
        optimize.brentq(feder_z, lo, hi, xtol=1e-10)
        if feder_z(lo) * feder_z(hi) < 0
        else optimize.minimize_scalar(lambda g: feder_z(g) ** 2, bounds=(lo, hi), method="bounded").x
    )
    slope = (
        feder_difference(sims, {**v, "ptsd_gain": g_ptsd + 1e-3}) - feder_difference(sims, {**v, "ptsd_gain": g_ptsd})
    ) / 1e-3
    joint = _fit_ocd(sims, v, tuple(OCD_COUNTS))
    rod = _fit_ocd(sims, v, ("rodriguez2013_ocd ketamine", "rodriguez2013_ocd saline"))
    blo = _fit_ocd(sims, v, ("bloch2012_ocd",), fix_share=joint["ocd_expectancy_share"])
    values = {
        "ptsd_gain": float(g_ptsd),
        "ocd_gain": joint["ocd_gain"],
        "ocd_expectancy_share": joint["ocd_expectancy_share"],
    }
    assert set(values) == set(FREE)
    return {
        "description": "Fitted by neuroplast.calibration.conditions (neuroplast calibrate-conditions); do not edit by hand.",
        "method": (
            "each calibration arm simulated once (fixed seeds); ptsd_gain solves z = 0 for feder2014; the OCD pair "
            "maximises the binomial log-likelihood of rodriguez2013_ocd and bloch2012_ocd (L-BFGS-B from a grid)"
        ),
        "n_per_arm": n,
        "seeds": SEEDS,
        "seconds": round(time.time() - t0, 1),
        "values": values,
        "feder2014": {
            "published_difference": FEDER["value"],
            "se": FEDER["se"],
            "simulated_difference": feder_difference(sims, {**v, **values}),
            "ptsd_gain_se": float(FEDER["se"] / slope) if slope > 0 else None,
        },
        "ocd": {
            "counts": {k: list(c) for k, c in OCD_COUNTS.items()},
            "joint": joint,
            "rodriguez2013_ocd_alone": rod,
            "bloch2012_ocd_alone (expectancy share fixed at the joint fit)": blo,
        },
    }


def main(n: int = N, path=FITTED_PATH) -> dict:
    """Fit and write ``fitted.json`` atomically; ``n`` below 10 is refused (NeuroplastInputError)."""
    from .._errors import NeuroplastInputError

    if not isinstance(n, int) or n < 10:
        raise NeuroplastInputError(
            "needs at least 10 virtual patients per calibration arm", field="--n-per-arm", value=n
        )
    result = fit(n=n)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(path)  # atomic: never a half-written fitted.json
    return result


if __name__ == "__main__":
    import sys

    from .._errors import NeuroplastInputError

    try:
        n_arg = int(sys.argv[1]) if len(sys.argv) > 1 else N
    except ValueError:
        print(f"error: n per arm must be an integer >= 10 (got {sys.argv[1]!r})", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        r = main(n_arg)
    except NeuroplastInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(json.dumps({"values": r["values"], "feder2014": r["feder2014"], "ocd_joint": r["ocd"]["joint"]}, indent=1))
