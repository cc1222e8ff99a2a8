"""In-silico trials: spec, arms, visits, endpoints, statistics, comparison with published data."""

from .run import ArmResult, TrialResult, run_trial
from .spec import TrialSpec, load_spec, parse_spec
from .summary import ArmSummary, Contrast, TimepointSummary, TrialSummary

__all__ = [
    "ArmResult",
    "ArmSummary",
    "Contrast",
    "TimepointSummary",
    "TrialResult",
    "TrialSpec",
    "TrialSummary",
    "load_spec",
    "parse_spec",
    "run_trial",
]
