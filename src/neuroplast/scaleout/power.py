"""Power and sample size by simulation: replicate the trial at several sizes, count significant results.

The primary endpoint is the contrast between two arms (default: the first two of the spec) in change
from baseline on the primary scale at one timepoint (default: the last), tested with Welch's
two-sided t-test — the test behind the summary's ``ci95`` (``trials.stats.contrast``). Power at a
size is the share of replicate trials with p < alpha; its 95% interval is Wilson's score interval
for a binomial proportion, i.e. the Monte Carlo uncertainty of the estimate from ``replicates``
trials. Replicates use the same seeds at every size (common random numbers), so the curve is
smooth in the size rather than jittering with new draws.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import DISCLAIMER, __version__
from .._errors import NeuroplastInputError
from ..io import atomic_output_dir, write_json, write_parquet
from ..report.png import figure_png
from .cluster import Runner, current_jax_cache
from .endpoints import Endpoint
from .replicate import TrialTask, replicate_seeds, run_trial_task


@dataclasses.dataclass(frozen=True)
class PowerResult:
    endpoint: Endpoint
    alpha: float
    sizes: list[int]
    rows: list[dict]  # one per (size, replicate): n_per_arm, replicate, seed, p_welch, mean_difference, significant
    curve: list[dict]  # one per size: n_per_arm, power, ci95, mean_difference_mean, ...
    settings: dict

    def to_json(self) -> dict:
        return {
            "endpoint": dataclasses.asdict(self.endpoint),
            "endpoint_label": self.endpoint.label(),
            "test": "Welch two-sided t-test on change from baseline",
            "alpha": self.alpha,
            "settings": self.settings,
            "curve": self.curve,
        }

    def smallest_size(self, target: float = 0.8) -> int | None:
        for row in self.curve:
            if row["power"] >= target:
                return row["n_per_arm"]
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
    endpoint = Endpoint("p_welch", first, time, second).resolve(spec)
    seed = spec.trial.seed if seed is None else seed
    seeds = replicate_seeds(seed, replicates)
    cache = current_jax_cache()
    tasks = [TrialTask(spec, n, s, (), False, cache) for n in sizes for s in seeds]
    summaries = run.map(run_trial_task, tasks, progress=progress)
    diff = dataclasses.replace(endpoint, name="mean_difference")
    rows = []
    for task, summ, r in zip(tasks, summaries, [r for _ in sizes for r in range(replicates)]):
        p = endpoint.value(summ)
        rows.append(
            {
                "n_per_arm": task.n_per_arm,
                "replicate": r,
                "seed": task.seed,
                "p_welch": p,
                "mean_difference": diff.value(summ),
                "significant": bool(np.isfinite(p) and p < alpha),
                "n_failed": sum(a.get("n_failed", 0) for a in summ["arms"].values()),
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
                "median_p": float(np.nanmedian([r["p_welch"] for r in sel])),
                "patients_failed": int(sum(r["n_failed"] for r in sel)),
            }
        )
    settings = {
        "replicates": replicates,
        "seed": seed,
        "trials": len(tasks),
        "where": run.where,
        "replicate_seeds": "numpy SeedSequence(seed).generate_state(replicates), the same at every size",
    }
    return PowerResult(endpoint, alpha, sizes, rows, curve, settings)


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
    ax.set_title(f"{e.arm} vs {e.versus}, change at {e.time} (Welch)", fontsize=10)
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    png = figure_png(fig, dpi=120)
    plt.close(fig)
    return png


def write_power(result: PowerResult, out) -> None:
    """``power.json`` (the curve), ``replicates.parquet`` (every trial's p-value) and ``power.png``, atomically."""
    import pandas as pd

    png = power_figure(result)
    with atomic_output_dir(out) as tmp:
        write_json(
            tmp / "power.json",
            {
                **result.to_json(),
                "smallest_n_per_arm_for_80pct": result.smallest_size(0.8),
                "neuroplast_version": __version__,
                "disclaimer": DISCLAIMER,
            },
        )
        write_parquet(tmp / "replicates.parquet", pd.DataFrame(result.rows))
        (tmp / "power.png").write_bytes(png)
