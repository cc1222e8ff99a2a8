"""Engines (integrators as objects), the batch runner, the kernel store and process tuning.

- :class:`Tsit5`, :class:`Kvaerno5`: diffrax's adaptive solvers (the reference);
- :class:`Fast`: closed-form linear PK plus an error-controlled Rosenbrock-W scheme (:mod:`.fast`);
- :func:`configure`: the one explicit call that tunes the process (float64, XLA flags, the allocator);
- :mod:`.kernels`: traced kernels stored on disk; :mod:`.memory`: the result arrays' page pool.
"""

from .._errors import NeuroplastInputError
from .adaptive import Kvaerno5, Tsit5
from .base import Engine, Simulation, batch_threads, run_batches
from .fast import Fast, pk_indices, plan
from .grid import TimeBase, time_base
from .process import configure

ENGINES = {"tsit5": Tsit5, "kvaerno5": Kvaerno5, "fast": Fast}
"""The engines by the names the CLI and the web app accept."""


def by_name(name: str) -> Engine:
    """The engine called ``name`` (:data:`ENGINES`) with its default settings."""

    if name not in ENGINES:
        raise NeuroplastInputError(f"unknown engine; known: {', '.join(ENGINES)}", field="engine", value=name)
    return ENGINES[name]()


__all__ = [
    "ENGINES",
    "Engine",
    "Fast",
    "Kvaerno5",
    "Simulation",
    "TimeBase",
    "Tsit5",
    "batch_threads",
    "by_name",
    "configure",
    "pk_indices",
    "plan",
    "run_batches",
    "time_base",
]
