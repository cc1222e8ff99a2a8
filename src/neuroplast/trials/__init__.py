"""In-silico trials: spec, arms, visits, endpoints, dropout, analyses, comparison with published data."""

from .design import AnalysisSpec, DropoutSpec
from .designs import run_trial
from .dropout import Dropout
from .run import ArmResult, TrialResult
from .spec import TrialSpec, load_spec, parse_spec
from .summary import ArmSummary, BinaryContrast, Contrast, TimepointSummary, TrialSummary

__all__ = [
    "AnalysisSpec",
    "ArmResult",
    "ArmSummary",
    "BinaryContrast",
    "Contrast",
    "Dropout",
    "DropoutSpec",
    "TimepointSummary",
    "TrialResult",
    "TrialSpec",
    "TrialSummary",
    "load_spec",
    "parse_spec",
    "run_trial",
]
