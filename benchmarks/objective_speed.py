"""Benchmark: one evaluation of the calibration objective — every depression calibration trial at N virtual
patients per arm, plus the mechanistic time courses — through the reference engine and the fast engine, side by
side in one run. (The conditions' PTSD and OCD trials are fitted on their own, ``neuroplast calibrate-conditions``,
and are not in it.)

    uv run python benchmarks/objective_speed.py [--n-per-arm 1000] [--json FILE] [--kernel-store DIR]

A profile likelihood or a posterior over the fitted parameters needs thousands of evaluations, so what counts is
an evaluation with every kernel already compiled: each engine first runs the whole objective once at one batch
per arm (``--warm-n``, the engine's batch size, so the timed run reuses the same kernels), then once at
``--n-per-arm`` on the clock. The patients are the same in every evaluation (each arm's streams are keyed by the
seed and the arm's name: common random numbers). The target this is measured against: 30 s per evaluation at
1,000 per arm on 2 cores.

``--kernel-store`` shortens the warm-up (the CLI's store is ``~/.cache/neuroplast/jax``); the timed evaluation is
the same with or without it. Reported per engine: ``clinical_s`` (:func:`neuroplast.calibration.evaluate.run_calibration_trials`: every trial
the calibration targets read; ``per_trial_s`` splits it), ``mechanism_s`` (:func:`neuroplast.mechanism.simulate_entries`: every fit and
held-out time course), their sum, the ratio to the reference engine, ``max_abs_diff_simulated`` (the largest
difference of a calibration endpoint's simulated value from the reference engine's, same patients) and the
patients that failed. Run in a fresh process on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import jax

from neuroplast.calibration.evaluate import evaluate, run_calibration_trials
from neuroplast.engine import Fast, Tsit5, configure, kernels
from neuroplast.evidence.targets import TARGETS
from neuroplast.mechanism import simulate_entries
from neuroplast.simulation import default_model

TARGET_S = 30.0


def _objective(model, n: int, engine, mechanism_engine) -> tuple[dict, dict, float]:
    """The trials' results, each trial's seconds, and the mechanism's seconds."""
    results, seconds = {}, {}
    for name in sorted({t.trial for t in TARGETS}):
        t0 = time.perf_counter()
        results |= run_calibration_trials(model, n, names=[name], engine=engine)
        seconds[name] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    simulate_entries(model, engine=mechanism_engine)
    return results, seconds, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-per-arm", type=int, default=1000)
    ap.add_argument("--warm-n", type=int, default=None, help="Patients per arm of the warm-up (default: a batch).")
    ap.add_argument("--json", default=None)
    ap.add_argument("--kernel-store", default=None, help="Load and keep compiled kernels here (as the CLI does).")
    args = ap.parse_args()
    configure()
    if args.kernel_store:
        kernels.use_cache(args.kernel_store)
    model = default_model()
    engines = {
        "tsit5 (reference: run_trial's default)": (Tsit5(rtol=1e-5, atol=1e-8), Tsit5()),
        "fast": (Fast(), Fast()),
    }
    rows, reference = [], None
    for name, (engine, mech_engine) in engines.items():
        warm_n = args.warm_n or engine.batch_size(args.n_per_arm)
        t = time.perf_counter()
        _objective(model, warm_n, engine, mech_engine)
        warm_s = time.perf_counter() - t
        results, per_trial, mechanism_s = _objective(model, args.n_per_arm, engine, mech_engine)
        clinical_s = sum(per_trial.values())
        sims = {
            (r["study"], r["arm"], r["time"], r["metric"]): r["simulated"] for r in evaluate(model, results=results)
        }
        failed = sum(int((~arm.simulation.ok).sum()) for res in results.values() for arm in res.arms.values())
        if reference is None:
            reference, diff = sims, 0.0
        else:
            both = [(sims[k], reference[k]) for k in sims if sims[k] is not None and reference.get(k) is not None]
            diff = max((abs(a - b) for a, b in both if math.isfinite(a) and math.isfinite(b)), default=float("nan"))
        rows.append(
            {
                "engine": name,
                "warm_up_s": round(warm_s, 2),
                "clinical_s": round(clinical_s, 2),
                "mechanism_s": round(mechanism_s, 2),
                "evaluation_s": round(clinical_s + mechanism_s, 2),
                "patients_failed": failed,
                "max_abs_diff_simulated": diff,
                "per_trial_s": per_trial,
            }
        )
    base = rows[0]["evaluation_s"]
    for r in rows:
        r["speed_up_vs_reference"] = round(base / r["evaluation_s"], 2)
        r["times_the_30_s_target"] = round(r["evaluation_s"] / TARGET_S, 2)
    meta = {
        "n_per_arm": args.n_per_arm,
        "calibration_trials": len({t.trial for t in TARGETS}),
        "device": str(jax.devices()[0]),
        "cores": os.cpu_count(),
        "target_s": TARGET_S,
    }
    print(json.dumps(meta))
    print(f"{'engine':42s} {'warm-up s':>10s} {'clinical s':>11s} {'mechanism s':>12s} {'total s':>8s} {'x ref':>6s} "
          f"{'x target':>9s} {'failed':>7s} {'max |diff|':>11s}")  # fmt: skip
    for r in rows:
        print(f"{r['engine']:42s} {r['warm_up_s']:10.1f} {r['clinical_s']:11.1f} {r['mechanism_s']:12.1f} "
              f"{r['evaluation_s']:8.1f} {r['speed_up_vs_reference']:6.2f} {r['times_the_30_s_target']:9.2f} "
              f"{r['patients_failed']:7d} {r['max_abs_diff_simulated']:11.3g}")  # fmt: skip
        print("    per trial (s):", ", ".join(f"{k} {v:.1f}" for k, v in r["per_trial_s"].items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
