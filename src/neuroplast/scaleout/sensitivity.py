"""Global sensitivity of a trial endpoint to model parameters: Sobol indices (Saltelli sampling, SALib).

Each parameter varies on a log scale between bounds taken from the registry:

* a parameter with between-patient variability (CV > 0): its typical value x exp(±2 sigma), sigma =
  sqrt(log(1 + CV²)) — the central 95% of the log-normal the cohort draws from;
* otherwise: typical value ÷/x ``spread`` (default 1.5, an assumption: ±50% around the calibrated or
  cited value), with the upper bound capped at 1 for fractions (names with ``frac``, ``fraction``,
  ``freq``, ``fu_``);
* or bounds the user gives (``name=lo:hi``).

Every sample runs the whole trial with the same seed (common random numbers), so the endpoint moves
with the parameters rather than with a new draw of patients; what remains of the finite cohort's
noise shows up in the indices' confidence intervals. First-order (S1) and total (ST) indices come
from ``SALib.analyze.sobol`` (Jansen/Saltelli estimators) with bootstrap 95% intervals.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import DISCLAIMER, __version__
from .._errors import NeuroplastInputError
from ..io import atomic_output_dir, write_json, write_parquet
from ..parameters import all_parameters
from ..report.png import figure_png
from .cluster import Runner, current_jax_cache
from .endpoints import Endpoint
from .replicate import TrialTask, check_parameter_names, run_trial_task

DEFAULT_SPREAD = 1.5
_FRACTION_HINTS = ("frac", "fraction", "freq", "fu_")


@dataclasses.dataclass(frozen=True)
class SensitivityResult:
    endpoint: Endpoint
    names: list[str]
    bounds: list[tuple[float, float]]
    nominal: float
    samples: np.ndarray  # (n_samples, n_params), natural scale
    values: np.ndarray  # (n_samples,)
    indices: dict  # name -> {"S1", "S1_conf", "ST", "ST_conf"}
    settings: dict

    def to_json(self) -> dict:
        return {
            "endpoint": dataclasses.asdict(self.endpoint),
            "endpoint_label": self.endpoint.label(),
            "nominal_value": self.nominal,
            "settings": self.settings,
            "parameters": [
                {"name": n, "lower": lo, "upper": hi, **self.indices[n]} for n, (lo, hi) in zip(self.names, self.bounds)
            ],
            "endpoint_values": {
                "mean": float(np.mean(self.values)),
                "sd": float(np.std(self.values, ddof=1)),
                "min": float(np.min(self.values)),
                "max": float(np.max(self.values)),
            },
        }


def default_parameters() -> list[str]:
    """The calibrated (free) parameters: those whose source is the fit."""

    return [p.name for p in all_parameters() if p.source == "fit"]


def parse_parameters(text: str | None) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """``"a,b=0.1:2,c"`` -> names and explicit bounds; unknown names are rejected."""
    if not text:
        return default_parameters(), {}
    names, explicit = [], {}
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        name, _, rng = item.partition("=")
        name = name.strip()
        if rng:
            try:
                lo, hi = (float(x) for x in rng.split(":"))
            except ValueError:
                raise NeuroplastInputError(
                    "bounds are written name=lower:upper, e.g. spine_gain=0.5:2", field="--params", value=item
                ) from None
            if not 0 < lo < hi:
                raise NeuroplastInputError(
                    "bounds must satisfy 0 < lower < upper (sampled on a log scale)", field="--params", value=item
                )
            explicit[name] = (lo, hi)
        names.append(name)
    check_parameter_names(names, field="--params")
    if len(set(names)) != len(names):
        raise NeuroplastInputError("a parameter is named twice", field="--params", value=text)
    if not names:
        raise NeuroplastInputError("name at least one parameter", field="--params", value=text)
    return names, explicit


def parameter_bounds(
    names: list[str], explicit: dict | None = None, *, spread: float = DEFAULT_SPREAD
) -> list[tuple[float, float]]:
    """Sampling bounds (natural scale) for each parameter (see the module docstring)."""

    if not spread > 1:
        raise NeuroplastInputError("the spread must be a factor above 1", field="--spread", value=spread)
    check_parameter_names(list(names), field="--params")
    reg = {p.name: p for p in all_parameters()}
    out = []
    for name in names:
        if explicit and name in explicit:
            out.append(explicit[name])
            continue
        p = reg[name]
        if p.value <= 0:
            raise NeuroplastInputError(
                "value is not positive, so it has no log-scale range; give bounds as name=lower:upper",
                field="--params",
                value=name,
            )
        if p.cv > 0:
            f = math.exp(2.0 * math.sqrt(math.log1p(p.cv * p.cv)))
        else:
            f = spread
        lo, hi = p.value / f, p.value * f
        if any(h in name for h in _FRACTION_HINTS) and p.value < 1:
            hi = min(hi, 1.0)
        out.append((lo, hi))
    return out


def sobol(
    spec,
    endpoint: Endpoint,
    *,
    names: list[str] | None = None,
    explicit: dict | None = None,
    base_samples: int = 32,
    n_per_arm: int = 64,
    seed: int | None = None,
    spread: float = DEFAULT_SPREAD,
    run: Runner,
    progress=None,
) -> SensitivityResult:
    """Sobol indices of ``endpoint`` over ``names`` (default: the fitted parameters).

    Runs ``base_samples * (len(names) + 2)`` trials of ``n_per_arm`` patients per arm, plus one at
    the nominal values (run first: it also checks that the endpoint exists before the rest start).
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    if base_samples < 2 or base_samples & (base_samples - 1):
        raise NeuroplastInputError(
            "the base sample count must be a power of 2 (Sobol sequence), e.g. 16, 32, 64",
            field="--samples",
            value=base_samples,
        )
    if n_per_arm < 2:
        raise NeuroplastInputError("need at least 2 patients per arm", field="--n-per-arm", value=n_per_arm)
    names = list(names or default_parameters())
    check_parameter_names(names, field="--params")
    endpoint = endpoint.resolve(spec)
    bounds = parameter_bounds(names, explicit, spread=spread)
    seed = spec.trial.seed if seed is None else seed
    cache = current_jax_cache()

    nominal_task = TrialTask(spec, n_per_arm, seed, (), False, cache)
    nominal_summary = run.map(run_trial_task, [nominal_task], progress=progress)[0]
    nominal = endpoint.value(nominal_summary)  # raises for an unknown endpoint before the long part

    problem = {"num_vars": len(names), "names": names, "bounds": [[math.log(lo), math.log(hi)] for lo, hi in bounds]}
    log_x = sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=seed)
    x = np.exp(log_x)
    tasks = [TrialTask(spec, n_per_arm, seed, tuple(zip(names, map(float, row))), False, cache) for row in x]
    summaries = run.map(run_trial_task, tasks, progress=progress)
    y = np.array([endpoint.value(s) for s in summaries])
    filled = _fill_undefined(endpoint, spec, y)
    if not np.all(np.isfinite(filled)):
        bad = int((~np.isfinite(filled)).sum())
        raise NeuroplastInputError(
            f"the endpoint is undefined in {bad} of {len(y)} samples; choose another endpoint, arm or timepoint",
            field="--endpoint",
            value=endpoint.name,
        )
    res = sobol_analyze.analyze(problem, filled, calc_second_order=False, seed=seed)
    indices = {
        n: {
            "S1": float(res["S1"][i]),
            "S1_conf": float(res["S1_conf"][i]),
            "ST": float(res["ST"][i]),
            "ST_conf": float(res["ST_conf"][i]),
        }
        for i, n in enumerate(names)
    }
    settings = {
        "base_samples": base_samples,
        "trials": len(tasks) + 1,
        "n_per_arm": n_per_arm,
        "seed": seed,
        "spread": spread,
        "sampling": "Saltelli/Sobol sequence on log-parameters (SALib), calc_second_order=False",
        "where": run.where,
        "censored_samples": int(np.sum(~np.isfinite(y))),
    }
    return SensitivityResult(endpoint, names, bounds, nominal, x, filled, indices, settings)


def _fill_undefined(endpoint: Endpoint, spec, y: np.ndarray) -> np.ndarray:
    """A median time to relapse that is not reached within follow-up is censored at the follow-up length."""
    if endpoint.name != "median_days_to_relapse":
        return y
    follow = (spec.follow_up_h() or 0.0) / 24.0
    return np.where(np.isfinite(y), y, follow)


def sensitivity_figure(result: SensitivityResult) -> bytes:
    """Bar chart of S1 and ST with their 95% intervals (PNG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = result.names
    order = np.argsort([-result.indices[n]["ST"] for n in names])
    names = [names[i] for i in order]
    k = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(names) + 2), 4.0))
    for off, key, colour in ((-0.2, "S1", "tab:blue"), (0.2, "ST", "tab:orange")):
        v = [result.indices[n][key] for n in names]
        e = [result.indices[n][f"{key}_conf"] for n in names]
        ax.bar(k + off, v, 0.4, yerr=e, capsize=3, color=colour, label={"S1": "first order S1", "ST": "total ST"}[key])
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(k, names, rotation=40, ha="right")
    ax.set_ylabel("Sobol index")
    ax.set_title(f"Sensitivity of {result.endpoint.label()}", fontsize=10)
    ax.legend(frameon=False)
    fig.tight_layout()
    png = figure_png(fig, dpi=120)
    plt.close(fig)
    return png


def write_sensitivity(result: SensitivityResult, out) -> None:
    """``sensitivity.json`` (indices), ``samples.parquet`` (every sample and its endpoint) and
    ``sensitivity.png``, atomically."""
    import pandas as pd

    png = sensitivity_figure(result)
    df = pd.DataFrame(result.samples, columns=result.names)
    df["endpoint"] = result.values
    with atomic_output_dir(out) as tmp:
        write_json(
            tmp / "sensitivity.json", {**result.to_json(), "neuroplast_version": __version__, "disclaimer": DISCLAIMER}
        )
        write_parquet(tmp / "samples.parquet", df)
        (tmp / "sensitivity.png").write_bytes(png)
