"""In-silico trials: spec, arms, visits, endpoints, statistics, comparison with published data."""

from .run import ArmResult, TrialResult, run_trial
from .spec import TrialSpec, load_spec, parse_spec

__all__ = ["ArmResult", "TrialResult", "TrialSpec", "load_spec", "parse_spec", "run_trial"]
