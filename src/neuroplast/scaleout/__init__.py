"""Scale-out: many trials on dask, Sobol sensitivity, power by simulation, cohorts streamed to disk.

Everything here is built on the public front doors (``simulate``, ``trials.run_trial``), so it gains
whatever the engine gains. See docs/scale.md.
"""

from .cluster import Runner, runner
from .endpoints import Endpoint
from .power import PowerResult, check_target, parse_sizes, power_curve, power_figure, write_power
from .replicate import TrialTask, replicate_seeds, replicate_trials, run_trial_task, sweep
from .sensitivity import (
    SensitivityResult,
    parameter_bounds,
    parse_parameters,
    sensitivity_figure,
    sobol,
    write_sensitivity,
)
from .stream import (
    StreamPlan,
    StreamResult,
    bytes_per_patient,
    largest_chunk,
    open_cohort,
    plan_stream,
    run_stream,
    stream_cohort,
)

__all__ = [
    "Endpoint",
    "PowerResult",
    "Runner",
    "SensitivityResult",
    "StreamResult",
    "TrialTask",
    "bytes_per_patient",
    "check_target",
    "largest_chunk",
    "open_cohort",
    "parameter_bounds",
    "parse_parameters",
    "parse_sizes",
    "power_curve",
    "power_figure",
    "replicate_seeds",
    "replicate_trials",
    "run_trial_task",
    "runner",
    "sensitivity_figure",
    "sobol",
    "StreamPlan",
    "plan_stream",
    "run_stream",
    "stream_cohort",
    "sweep",
    "write_power",
    "write_sensitivity",
]
