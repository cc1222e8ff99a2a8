"""Many trials at once: replicates of one trial (different seeds) and parameter sweeps.

Each trial is one task (:func:`run_trial_task`), run wherever the :class:`~.cluster.Runner`
sends it. A task returns the trial's ``summary`` (docs/outputs.md), whose contrasts carry the p-value of the
trial's analysis (``p_value``), with a Welch p-value added to every contrast (``p_welch``, two-sided, on the
change from baseline of the patients observed at the visit), so only a few kB travel back per trial, not the
trajectories.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import TYPE_CHECKING

import numpy as np

from .._errors import NeuroplastInputError
from .cluster import Runner, current_jax_cache, runner, worker_setup

if TYPE_CHECKING:
    from ..trials import TrialSpec


@dataclasses.dataclass(frozen=True)
class TrialTask:
    """One trial to run: a validated spec, its size and seed, and parameter values to change."""

    spec: TrialSpec  # pydantic; pickles
    n_per_arm: int | None = None
    seed: int | None = None
    changes: tuple[tuple[str, float], ...] = ()
    allow_high_dose: bool = False
    jax_cache: str | None = None


def run_trial_task(task: TrialTask) -> dict:
    """Run one trial (in any process) and return its summary with ``p_welch`` in every contrast."""
    worker_setup(task.jax_cache)
    from ..simulation import default_model
    from ..trials import run_trial

    model = default_model()
    if task.changes:
        model = model.with_values(**dict(task.changes))
    result = run_trial(
        task.spec, model=model, n_per_arm=task.n_per_arm, seed=task.seed, allow_high_dose=task.allow_high_dose
    )
    return add_p_values(result)


def add_p_values(result) -> dict:
    """The summary of ``result`` with a two-sided Welch p-value in each contrast (on the change from baseline of
    the patients observed at the visit: every finished patient without dropout)."""
    from scipy import stats

    summary = result.summary.to_json_dict()  # a plain dict (summary.json): a few kB to send back
    labels = dict(result.spec.timepoints_h())
    contrasts = []
    for c in summary["contrasts"]:
        if summary.get("design") == "crossover":  # arms given in periods, not to groups: no Welch test between them
            contrasts.append({**c, "p_welch": None})
            continue
        a, b = (result.arms[name] for name in c["arms"])
        j = int(np.searchsorted(result.times_h, labels[c["time"]]))
        at = result.times_h[j : j + 1]
        ca = (a.scores[:, j] - a.baseline)[a.simulation.ok & a.observed(at)[:, 0]]  # observed at the visit
        cb = (b.scores[:, j] - b.baseline)[b.simulation.ok & b.observed(at)[:, 0]]
        p = stats.ttest_ind(ca, cb, equal_var=False).pvalue if ca.size > 1 and cb.size > 1 else np.nan
        contrasts.append({**c, "p_welch": float(p) if np.isfinite(p) else None})
    summary["contrasts"] = contrasts
    return summary


def replicate_seeds(seed: int, count: int) -> list[int]:
    """``count`` independent trial seeds derived from ``seed`` (deterministic)."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(count, dtype=np.uint32)]


def replicate_trials(
    spec,
    seeds: list[int],
    *,
    n_per_arm: int | None = None,
    changes: dict | None = None,
    run: Runner | None = None,
    allow_high_dose: bool = False,
    progress=None,
) -> list[dict]:
    """Run ``spec`` once per seed; return the summaries (with ``p_welch``) in the order of ``seeds``."""
    tasks = [
        TrialTask(spec, n_per_arm, int(s), tuple(sorted((changes or {}).items())), allow_high_dose, current_jax_cache())
        for s in seeds
    ]
    return _map(tasks, run, progress)


def sweep(
    spec,
    grid: dict[str, list[float]],
    *,
    n_per_arm: int | None = None,
    seed: int | None = None,
    run: Runner | None = None,
    allow_high_dose: bool = False,
    progress=None,
) -> list[tuple[dict, dict]]:
    """Run ``spec`` at every combination of the parameter values in ``grid`` (Cartesian product).

    Every point uses the same seed (common random numbers), so differences between points come
    from the parameters, not from drawing other patients. Returns ``[(values, summary), ...]``.
    """
    check_parameter_names(list(grid), field="grid")
    names = list(grid)
    points = [dict(zip(names, combo)) for combo in itertools.product(*(grid[k] for k in names))]
    tasks = [
        TrialTask(spec, n_per_arm, seed, tuple(sorted(p.items())), allow_high_dose, current_jax_cache()) for p in points
    ]
    return list(zip(points, _map(tasks, run, progress)))


def check_parameter_names(names: list[str], *, field: str) -> None:
    """Every name must be in the parameter registry; an unknown one is named with near matches."""
    import difflib

    from ..parameters import values

    known = values()
    for name in names:
        if name not in known:
            near = difflib.get_close_matches(name, list(known), n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise NeuroplastInputError(
                f"unknown parameter{hint} (neuroplast params lists them)", field=field, value=name
            )


def _map(tasks, run: Runner | None, progress):
    if run is not None:
        return run.map(run_trial_task, tasks, progress=progress)
    with runner("none") as r:
        return r.map(run_trial_task, tasks, progress=progress)
