"""The fast cohort engine (``Solver(method="fast")``): closed-form linear PK, a Rosenbrock-W scheme for
everything else, with error-controlled steps. See :mod:`.fast` and docs/scale.md."""

from .fast import FastSettings, pk_indices, plan, simulate_fast
from .grid import TimeBase, time_base

__all__ = ["FastSettings", "TimeBase", "pk_indices", "plan", "simulate_fast", "time_base"]
