"""Power and sample size by simulation: replicate the trial at several sizes, count significant results.

The primary endpoint is the contrast between two arms (default: the first two of the spec) in change
from baseline on the primary scale at one timepoint (default: the last), tested by the trial's own
analysis with its dropout (``[trial.dropout]``, ``[trial.analysis]``: the contrast's ``p_value`` in the
summary; Welch's two-sided t-test on every patient when the trial has neither). Power at a size is the
share of replicate trials with p < alpha; its 95% interval is Wilson's score interval for a binomial
proportion, i.e. the Monte Carlo uncertainty of the estimate from ``replicates`` trials. Replicates use
the same seeds at every size (common random numbers), so the curve is smooth in the size rather than
jittering with new draws. The size for a target power is the smallest size tried that reaches it, and
an interpolation between the sizes around it (:meth:`PowerResult.interpolated_size`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import DISCLAIMER, __version__
from .._errors import NeuroplastInputError
from ..io import atomic_output_dir, write_json, write_parquet
from ..report.png import figure_png
from ..trials.design import MODELS, resolve_method
from .cluster import Runner, current_jax_cache
from .endpoints import Endpoint
from .replicate import TrialTask, replicate_seeds, run_trial_task


@dataclasses.dataclass(frozen=True)
class PowerResult:
    endpoint: Endpoint
    alpha: float
    sizes: list[int]
    rows: list[dict]  # one per (size, replicate): n_per_arm, replicate, seed, p_value, mean_difference, significant
    curve: list[dict]  # one per size: n_per_arm, power, ci95, mean_difference_mean, ...
    settings: dict
    method: str = "observed"  # the trial's [trial.analysis] method (trials.design.METHODS)

    def test(self) -> str:
        """The test in words: the trial's analysis and its data set."""
        model, data = MODELS[self.method]
        words = {"welch": "Welch two-sided t-test", "ancova": "ANCOVA on baseline", "mmrm": "MMRM (unstructured, REML)"}
        where = {"observed": "patients observed at the visit", "locf": "LOCF", "completers": "completers"}[data]
        return f"{words[model]} on change from baseline, {where}"

    def to_json(self) -> dict:
        return {
            "endpoint": dataclasses.asdict(self.endpoint),
            "endpoint_label": self.endpoint.label(),
            "method": self.method,
            "test": self.test(),
            "alpha": self.alpha,
            "settings": self.settings,
            "curve": self.curve,
        }

    def smallest_size(self, target: float = 0.8) -> int | None:
        """The smallest size tried whose simulated power reaches ``target``; ``None`` when none does."""
        for row in self.curve:
            if row["power"] >= target:
                return row["n_per_arm"]
        return None

    def interpolated_size(self, target: float = 0.8) -> int | None:
        """Patients per arm for ``target`` power, interpolated linearly in log(size) between the last size tried
        below the target and the first reaching it (rounded up); the smallest size tried when that one already
        reaches it (nothing below it was tried); ``None`` when none does."""
        for i, row in enumerate(self.curve):
            if row["power"] >= target:
                if i == 0:
                    return row["n_per_arm"]
                lo = self.curve[i - 1]
                frac = (target - lo["power"]) / (row["power"] - lo["power"])
                log_n = math.log(lo["n_per_arm"]) + frac * (math.log(row["n_per_arm"]) - math.log(lo["n_per_arm"]))
                return min(row["n_per_arm"], math.ceil(math.exp(log_n) - 1e-9))
        return None


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score 95% interval for k successes in n trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise NeuroplastInputError(
            "sizes are whole numbers of patients per arm, e.g. 10,20,40,80", field="--sizes", value=text
        ) from None
    if not sizes or sizes[0] < 2:
        raise NeuroplastInputError(
            "give at least one size, each at least 2 patients per arm", field="--sizes", value=text
        )
    return sizes


def check_target(target: float) -> float:
    """A target power: a probability strictly between 0 and 1."""
    if not (isinstance(target, (int, float)) and 0 < target < 1):
        raise NeuroplastInputError("the target power is a probability between 0 and 1", field="--target-power",
                                   value=target)  # fmt: skip
    return float(target)


def power_curve(
    spec,
    sizes: list[int],
    *,
    replicates: int = 40,
    alpha: float = 0.05,
    seed: int | None = None,
    arm: str | None = None,
    versus: str | None = None,
    time: str | None = None,
    run: Runner,
    progress=None,
) -> PowerResult:
    """Simulated power of the primary contrast at each size in ``sizes`` (patients per arm)."""
    if len(spec.arm) < 2:
        raise NeuroplastInputError("power needs a trial with at least two arms", field="arm", value=len(spec.arm))
    if not 0 < alpha < 1:
        raise NeuroplastInputError("alpha must be between 0 and 1", field="--alpha", value=alpha)
    if replicates < 2:
        raise NeuroplastInputError("need at least 2 replicates per size", field="--replicates", value=replicates)
    first = arm or spec.arm[0].name
    second = versus or next(a.name for a in spec.arm if a.name != first)
    endpoint = Endpoint("p_value", first, time, second).resolve(spec)
    method = resolve_method(spec.trial.dropout, spec.trial.analysis)
    seed = spec.trial.seed if seed is None else seed
    seeds = replicate_seeds(seed, replicates)
    cache = current_jax_cache()
    tasks = [TrialTask(spec, n, s, (), False, cache) for n in sizes for s in seeds]
    summaries = run.map(run_trial_task, tasks, progress=progress)
    diff = dataclasses.replace(endpoint, name="mean_difference")
    rows = []
    for task, summ, r in zip(tasks, summaries, [r for _ in sizes for r in range(replicates)]):
        p, difference = _value(endpoint, summ), _value(diff, summ)
        pair = [summ["arms"][endpoint.arm], summ["arms"][endpoint.versus]]
        rows.append(
            {
                "n_per_arm": task.n_per_arm,
                "replicate": r,
                "seed": task.seed,
                "p_value": p,
                "mean_difference": difference,
                "significant": bool(np.isfinite(p) and p < alpha),
                "n_failed": sum(a.get("n_failed", 0) for a in summ["arms"].values()),
                "n_dropped": sum(a.get("n_dropped", 0) for a in pair),  # the two arms compared
            }
        )
    curve = []
    for n in sizes:
        sel = [r for r in rows if r["n_per_arm"] == n]
        k = sum(r["significant"] for r in sel)
        md = np.array([r["mean_difference"] for r in sel])
        curve.append(
            {
                "n_per_arm": n,
                "replicates": len(sel),
                "significant": k,
                "power": k / len(sel),
                "ci95": list(wilson(k, len(sel))),
                "mean_difference_mean": float(np.nanmean(md)),
                "mean_difference_sd": float(np.nanstd(md, ddof=1)),
                "median_p": float(np.nanmedian([r["p_value"] for r in sel])),
                "patients_failed": int(sum(r["n_failed"] for r in sel)),
                "dropped_share": float(np.mean([r["n_dropped"] for r in sel]) / (2 * n)),
            }
        )
    settings = {
        "replicates": replicates,
        "seed": seed,
        "trials": len(tasks),
        "where": run.where,
        "replicate_seeds": "numpy SeedSequence(seed).generate_state(replicates), the same at every size",
    }
    return PowerResult(endpoint, alpha, sizes, rows, curve, settings, method)


def _value(endpoint: Endpoint, summary: dict) -> float:
    """The endpoint's value; NaN (not significant) when the trial has no contrast there: fewer than two
    patients of an arm analysed at the visit, after dropout."""
    try:
        return endpoint.value(summary)
    except NeuroplastInputError:
        return math.nan


def power_figure(result: PowerResult, target: float = 0.8) -> bytes:
    """Power against patients per arm, with Wilson 95% intervals (PNG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["n_per_arm"] for r in result.curve]
    p = np.array([r["power"] for r in result.curve])
    lo = np.array([r["ci95"][0] for r in result.curve])
    hi = np.array([r["ci95"][1] for r in result.curve])
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    ax.fill_between(n, lo, hi, color="tab:blue", alpha=0.2, label="95% interval (Wilson)")
    ax.plot(n, p, "o-", color="tab:blue", label="simulated power")
    ax.axhline(target, color="grey", ls="--", lw=0.8, label=f"{target:.0%}")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(n, [str(v) for v in n])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("patients per arm")
    ax.set_ylabel(f"P(p < {result.alpha:g})")
    e = result.endpoint
    ax.set_title(f"{e.arm} vs {e.versus}, change at {e.time} ({result.method})", fontsize=10)
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    png = figure_png(fig, dpi=120)
    plt.close(fig)
    return png


def write_power(result: PowerResult, out, *, target: float = 0.8) -> None:
    """``power.json`` (the curve, the sizes for ``target`` power), ``replicates.parquet`` (every trial's p-value)
    and ``power.png``, atomically."""
    import pandas as pd

    png = power_figure(result, target)
    with atomic_output_dir(out) as tmp:
        write_json(
            tmp / "power.json",
            {
                **result.to_json(),
                "smallest_n_per_arm_for_80pct": result.smallest_size(0.8),
                "target_power": target,
                "smallest_n_per_arm_for_target": result.smallest_size(target),
                "interpolated_n_per_arm_for_target": result.interpolated_size(target),
                "neuroplast_version": __version__,
                "disclaimer": DISCLAIMER,
            },
        )
        write_parquet(tmp / "replicates.parquet", pd.DataFrame(result.rows))
        (tmp / "power.png").write_bytes(png)
