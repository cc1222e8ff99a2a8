"""The front door: ``simulate(model, regimen, cohort, *, saveat, engine)``.

*What* is positional (the population model, the regimen, the cohort); *how* is keyword-only (save times, and
the engine: an object carrying exactly the settings it honours, :mod:`neuroplast.engine`). Patients are solved
together with ``vmap`` in padded batches of fixed size, so one compiled function serves every cohort size and
arm.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._errors import NeuroplastInputError
from .cohort import Cohort
from .engine import Engine, Simulation, Tsit5
from .parameters import PopulationModel, default_model
from .regimen import Regimen


def simulate(
    model: PopulationModel,
    regimen: Regimen,
    cohort: Cohort,
    *,
    saveat,
    engine: Engine = Tsit5(),
    progress: Callable[[int], None] | None = None,
) -> Simulation:
    """Simulate every patient of ``cohort`` under ``regimen``; save at ``saveat`` (hours, >= 0, sorted).

    Returns a :class:`Simulation`. A patient whose solve fails (step limit, non-finite state) is flagged in
    ``status``; the run goes on. ``progress(k)`` is called after each batch with the number of patients done in
    it.
    """
    if not isinstance(engine, Engine):
        raise NeuroplastInputError(
            "expected an engine object, e.g. neuroplast.engine.Tsit5() or neuroplast.engine.Fast()",
            field="engine",
            value=engine,
        )
    ts = np.asarray(saveat, dtype=float)
    if ts.ndim != 1 or ts.size == 0 or np.any(ts < 0) or np.any(np.diff(ts) < 0):
        raise NeuroplastInputError("save times must be a non-empty, sorted list of times >= 0", field="saveat")
    return engine.run(model, regimen, cohort, ts, progress)


__all__ = ["PopulationModel", "Simulation", "default_model", "simulate"]
