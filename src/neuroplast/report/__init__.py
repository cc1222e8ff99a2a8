"""Figures (matplotlib, PNG bytes) and self-contained HTML reports of trials and simulations."""

from .figures import simulation_figures, trial_figures
from .html import write_report

__all__ = ["simulation_figures", "trial_figures", "write_report"]
