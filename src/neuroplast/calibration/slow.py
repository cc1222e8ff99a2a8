"""Stage 3: the slow scales (weeks to months), fitted after and without touching stages 1-2.

The ketamine-era parameters (stage 2) are fixed inputs. The slow parameters are fitted block by block,
each block to the calibration endpoints it moves most, in an order where later blocks do not change
earlier endpoints much (block-coordinate descent, one pass; the final residuals of every slow endpoint
are recorded):

1. ``k_natural``: the wait-list improvement (rutherford2012_waitlist);
2. ``pill_factor``: placebo response in SSRI trials (furukawa2016_placebo);
3. ``ssri_spine_gain``: STAR*D level-1 remission and response (trivedi2006_stard_level1, open label) and the week-1
   risk ratio of response (taylor2006_ssri_onset, blinded);
4. ``k_session``: CBT vs wait list (cuijpers2023_cbt);
5. ``fitness_spine_gain``: exercise vs usual care (noetel2024_exercise);
6. ``window_gain``: ketamine with CBT only (wilkinson2017_cbt).

Each block minimises the sum of squared z-scores of its endpoints over the log of its parameters
(bounded scalar search, or Nelder-Mead for several, from :func:`.fit.first_simplex`), with common random numbers: fixed seeds, and each
arm keeps the random streams it has in the full trial. Only the arms a block needs are simulated, each trial by
the engine fastest on it (``evaluate.fastest_engine``); the residuals written are the reference engine's.
"""

from __future__ import annotations

import json
import time

import numpy as np
import scipy.optimize

from .. import parameters
from ..evidence.targets import SLOW_TARGETS
from ..simulation import default_model
from ..trials import parse_spec, run_trial
from .evaluate import CALIBRATION_TRIALS, evaluate, fastest_engine, simulated_value
from .fit import first_simplex

BLOCKS = (
    (("k_natural",), {"psychotherapy": ("wait list",)}, ("rutherford2012_waitlist",)),
    (("pill_factor",), {"ssri": ("placebo",)}, ("furukawa2016_placebo",)),
    (
        ("ssri_spine_gain",),
        {"ssri": ("escitalopram", "placebo"), "stard": ("escitalopram",)},
        ("taylor2006_ssri_onset", "trivedi2006_stard_level1"),
    ),
    (("k_session",), {"psychotherapy": ("cbt", "wait list")}, ("cuijpers2023_cbt",)),
    (("fitness_spine_gain",), {"exercise": ("exercise", "usual care")}, ("noetel2024_exercise",)),
    (("window_gain",), {"ketamine_cbt": ("ketamine + cbt",)}, ("wilkinson2017_cbt",)),
)
"""(parameters, {trial: arms simulated}, studies fitted) per block, in fitting order."""

BOUNDS = {
    "k_natural": (1e-3, 0.3),
    "pill_factor": (0.05, 3.0),
    "ssri_spine_gain": (0.01, 3.0),
    "k_session": (1e-3, 0.3),
    "fitness_spine_gain": (0.01, 3.0),
    "window_gain": (0.01, 30.0),
}
"""Search bounds (on the log scale)."""

FREE = tuple(p for block in BLOCKS for p in block[0])
N_PER_ARM = 1000
"""Patients per arm of every stage-3 evaluation (the same patients each time), as in stage 2: the Monte Carlo error
of a rate is at most 0.016, of a standardised mean difference about 0.045 (at 300 per arm it was 0.08, above
cuijpers2023's standard error of 0.049)."""


def _block_targets(studies, trials):
    return [t for t in SLOW_TARGETS if t.use == "fit" and t.study in studies and t.trial in trials]


def _run(model, trials: dict, n: int):
    return {
        name: run_trial(
            parse_spec(CALIBRATION_TRIALS[name]), model=model, n_per_arm=n, only_arms=arms, engine=fastest_engine(name)
        )
        for name, arms in trials.items()
    }


def _objective(model, trials, targets, n):
    results = _run(model, trials, n)
    return float(sum(t.z(simulated_value(t, results)) ** 2 for t in targets))


def fit_slow(*, n_per_arm: int = N_PER_ARM, max_evals_per_block: int = 14, write: bool = True, log=print) -> dict:
    """Fit the slow parameters block by block; write them and the slow residuals into ``fitted.json``."""
    t0 = time.time()

    table = parameters.table_values()  # the table, not a past fit
    model = default_model().with_values(**{k: table[k] for k in FREE})
    evals = 0
    for names, trials, studies in BLOCKS:
        targets = _block_targets(studies, set(trials))
        lo = np.log([BOUNDS[k][0] for k in names])
        hi = np.log([BOUNDS[k][1] for k in names])

        def f(x, names=names, trials=trials, targets=targets, lo=lo, hi=hi, model=model):
            nonlocal evals
            evals += 1
            x = np.clip(np.atleast_1d(x), lo, hi)
            return _objective(model.with_values(**dict(zip(names, np.exp(x).tolist()))), trials, targets, n_per_arm)

        x0 = np.log([min(max(model.values[k], BOUNDS[k][0]), BOUNDS[k][1]) for k in names])
        if len(names) == 1:
            res = scipy.optimize.minimize_scalar(
                lambda x: f([x]),
                bounds=(lo[0], hi[0]),
                method="bounded",
                options={"xatol": 0.02, "maxiter": max_evals_per_block},
            )
            best = np.atleast_1d(res.x)
        else:
            res = scipy.optimize.minimize(
                f,
                x0,
                method="Nelder-Mead",
                options={
                    "maxfev": len(names) * max_evals_per_block,
                    "xatol": 0.02,
                    "fatol": 0.01,
                    "initial_simplex": first_simplex(x0, hi),
                },
            )
            best = res.x
        model = model.with_values(**dict(zip(names, np.exp(np.clip(best, lo, hi)).tolist())))
        log(
            f"  {', '.join(f'{k} = {model.values[k]:.4g}' for k in names)}  objective {float(res.fun):.3f}"
            f"  ({time.time() - t0:.0f} s)"
        )
    rows = evaluate(model, n_per_arm=n_per_arm, targets=SLOW_TARGETS)
    fit_rows = [r for r in rows if r["use"] == "fit"]
    values = {k: float(model.values[k]) for k in FREE}
    slow = {
        "method": "stage 3, block by block: " + "; ".join(f"{'+'.join(b[0])} to {', '.join(b[2])}" for b in BLOCKS),
        "n_per_arm": n_per_arm,
        "max_evals_per_block": max_evals_per_block,
        "command": f"neuroplast calibrate --stage slow --n-per-arm {n_per_arm}",
        "evaluations": evals,
        "seconds": round(time.time() - t0, 1),
        "objective": float(sum(r["z"] ** 2 for r in fit_rows)),
        "values": values,
        "residuals": [
            {k: r[k] for k in ("study", "arm", "time", "metric", "value", "simulated", "z", "use")} for r in rows
        ],
    }
    if write:
        data = json.loads(parameters.FITTED_PATH.read_text())
        stale = data.get("slow", {}).get("values", {})  # a past stage 3's parameters, some perhaps no longer fitted
        data["values"] = {**{k: v for k, v in data["values"].items() if k not in stale}, **values}
        data["slow"] = slow
        parameters.FITTED_PATH.write_text(json.dumps(data, indent=1) + "\n")
        parameters.fitted_values.cache_clear()
    log(f"stage 3 objective {slow['objective']:.2f} after {evals} evaluations ({slow['seconds']} s)")
    return slow


__all__ = ["BLOCKS", "BOUNDS", "FREE", "N_PER_ARM", "fit_slow"]
