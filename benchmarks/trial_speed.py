"""Benchmark: a 2-arm, 1,000-patient, single-infusion, 7-day trial, compilation included.

Side by side in one run: the engine (vmapped diffrax, padded batches) vs SciPy LSODA per
patient on the same right-hand side. Prints a table and writes JSON (``--json FILE``).

    uv run python benchmarks/trial_speed.py [--patients 1000] [--scipy-patients 20] [--json out.json]

Run it in a fresh process: the first trial includes compilation (no persistent cache is set here).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import jax
import numpy as np
from scipy.integrate import solve_ivp

import neuroplast as npl
from neuroplast.model import Model
from neuroplast.trials import parse_spec, run_trial

SPEC = {
    "trial": {
        "id": "bench",
        "population": "trd",
        "scale": "MADRS",
        "seed": 1,
        "inclusion": {"min_baseline": 22},
        "endpoints": {"timepoints": ["40 min", "4 h", "1 d", "3 d", "7 d"]},
    },
    "arm": [
        {
            "name": "ketamine",
            "dose": [{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}],
        },
        {"name": "saline", "dose": [{"drug": "saline", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}]},
    ],
}


def scipy_per_patient(model, regimen, cohort, ts, k):
    """LSODA per patient (rtol 1e-6, atol 1e-9, split at the infusion stop) on the same RHS."""
    ind = Model.build(model.values, cohort.take(np.arange(k)))
    rhs = jax.jit(lambda t, y, m, ev: m.vector_field(t, y, ev))  # compiled once, warmed up below

    def run(i):
        one = jax.tree_util.tree_map(lambda x: x[i], ind)
        ev = regimen.event_array(cohort.table["weight_kg"].to_numpy()[i : i + 1], 8)[0]
        y, t_prev = np.asarray(one.initial_state()), 0.0
        for seg in (2 / 3, ts[-1]):
            sol = solve_ivp(
                lambda t, yy: np.asarray(rhs(t, yy, one, ev)), (t_prev, seg), y, method="LSODA", rtol=1e-6, atol=1e-9
            )
            y, t_prev = sol.y[:, -1], seg

    run(0)
    t0 = time.perf_counter()
    for i in range(k):
        run(i)
    return (time.perf_counter() - t0) / k


def main():
    npl.engine.configure()  # as the CLI does: float64, XLA's CPU options, the allocator
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=1000, help="patients in total (split over 2 arms)")
    ap.add_argument("--scipy-patients", type=int, default=20)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    model = npl.default_model()
    spec = parse_spec(SPEC)
    n = a.patients // 2
    t0 = time.perf_counter()
    run_trial(spec, n_per_arm=n)
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        r = run_trial(spec, n_per_arm=n)
        warm.append(time.perf_counter() - t0)
    warm_s = float(np.median(warm))
    reg = spec.regimens()["ketamine"]
    cohort = r.arms["ketamine"].simulation.cohort
    sp = scipy_per_patient(model, reg, cohort, np.array([0.0, 168.0]), a.scipy_patients)
    engine_per_patient = warm_s / (2 * n)
    out = {
        "patients": 2 * n,
        "days": 7,
        "trial_s_including_compile": cold,
        "trial_s_warm_median": warm_s,
        "engine_ms_per_patient": 1e3 * engine_per_patient,
        "scipy_lsoda_ms_per_patient": 1e3 * sp,
        "ratio_scipy_over_engine": sp / engine_per_patient,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": str(jax.devices()[0]),
    }
    for k, v in out.items():
        print(f"{k:32s} {v:.4g}" if isinstance(v, float) else f"{k:32s} {v}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
