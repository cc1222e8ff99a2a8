"""Reproducible calibration: simulate the calibration trials, compare with published numbers, fit.

* :func:`evaluate` runs the two calibration trials (a single infusion with ketamine,
  midazolam and saline arms; six infusions over 12 days with follow-up) and returns one row
  per :class:`~neuroplast.evidence.targets.Target` (simulated vs published).
* :func:`fit` fits the free parameters (registry source ``fit``) to the ``fit`` targets and
  writes ``parameters/fitted.json`` with the objective and residuals.
"""

from .evaluate import CALIBRATION_TRIALS, evaluate
from .fit import FREE, fit

__all__ = ["CALIBRATION_TRIALS", "FREE", "evaluate", "fit"]
