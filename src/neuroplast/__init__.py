"""neuroplast: an evidence-calibrated, multi-scale simulator of neuroplasticity in depression.

Research and education software, not a medical device.

Public API (explicit re-exports only)::

    model = neuroplast.default_model()
    regimen = neuroplast.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg",
                                         "duration": "40 min", "at": ["0 d"]}])
    cohort = neuroplast.sample_cohort(model.values, model.cvs, "trd", 100, seed=1)
    sim = neuroplast.simulate(model, regimen, cohort, saveat=[0, 1, 24, 168])
"""

import os

# Equinox's runtime checks inside diffrax become NaN (flagged per patient as non_finite) instead of host
# callbacks, so the engine's kernels can be exported and cached on disk (neuroplast._kernels). Read by
# Equinox at import; an explicit EQX_ON_ERROR in the environment wins.
os.environ.setdefault("EQX_ON_ERROR", "nan")
# XLA's CPU backend compiles a while loop whose buffers are small as one function instead of one call per
# operation (its "small while loop" pass, 1 kB by default). The fast engine's stepping loop (~2 MB for a batch
# of 64) then runs 1.2x faster per step, for ~0.5 s more compile (docs/scale.md). XLA reads XLA_FLAGS once, when
# the first backend starts: this has no effect if JAX has already run something. Extra options already given in
# XLA_FLAGS win (the option is one of XLA's "backend extra options").
_HOIST = "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1000000000"
if "xla_backend_extra_options" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = " ".join(filter(None, [os.environ.get("XLA_FLAGS", ""), _HOIST]))

from ._memory import keep_freed_memory  # noqa: E402

# glibc keeps freed buffers for reuse instead of faulting fresh pages in for every batch (Linux; unless the user
# set MALLOC_* themselves): ~10 % of a fast-engine cohort's wall time (neuroplast._memory, docs/scale.md)
_MALLOC_TUNED = keep_freed_memory()

import jax  # noqa: E402

# The model is validated in float64 (DESIGN §5); JAX needs this before any array is made.
jax.config.update("jax_enable_x64", True)

from ._errors import DoseCeilingError, NeuroplastInputError, PatientStatus  # noqa: E402
from .cohort import Cohort, Inclusion, sample_cohort, typical_patient  # noqa: E402
from .regimen import Dose, Regimen, build_regimen  # noqa: E402
from .simulation import PopulationModel, Simulation, Solver, default_model, simulate  # noqa: E402

__version__ = "0.1.0"
DISCLAIMER = "neuroplast is research and education software, not a medical device."

__all__ = [
    "DISCLAIMER",
    "Cohort",
    "Dose",
    "DoseCeilingError",
    "Inclusion",
    "NeuroplastInputError",
    "PatientStatus",
    "PopulationModel",
    "Regimen",
    "Simulation",
    "Solver",
    "__version__",
    "build_regimen",
    "default_model",
    "sample_cohort",
    "simulate",
    "typical_patient",
]
