"""The fast cohort engine (``Solver(method="fast")``): closed-form linear PK, a Rosenbrock-W scheme for
everything else, on a fixed grid. See :mod:`.fast` and docs/scale.md."""

from .fast import FastSettings, pk_indices, plan, simulate_fast
from .grid import Grid, build_grid

__all__ = ["FastSettings", "Grid", "build_grid", "pk_indices", "plan", "simulate_fast"]
