"""The one entry to a simulated trial: :func:`run_trial` runs a spec by its ``design``.

``parallel`` and ``randomized_withdrawal``: :func:`.run.run_trial` (each arm its own patients; a withdrawal's
arms are its continuation arms, each enrolled through the open-label induction: :mod:`.withdrawal`);
``crossover``: :func:`.crossover.run_crossover` (every patient every arm, one period each).
"""

from __future__ import annotations

from .crossover import run_crossover
from .run import TrialResult
from .run import run_trial as run_parallel
from .spec import TrialSpec


def run_trial(spec: TrialSpec, *, only_arms=None, **options) -> TrialResult:
    """Simulate ``spec`` and summarise it (``summary.json``: docs/outputs.md). ``options``: ``model``,
    ``n_per_arm``, ``seed``, ``allow_high_dose``, ``engine``, ``progress`` (see :func:`.run.run_trial`);
    ``only_arms`` (a parallel trial's arms to run) does not apply to a crossover, whose patients receive every
    arm."""
    if spec.trial.design == "crossover":
        if only_arms is not None:
            raise ValueError("only_arms does not apply to a crossover: every patient receives every arm")
        return run_crossover(spec, **options)
    return run_parallel(spec, only_arms=only_arms, **options)


__all__ = ["run_trial"]
