"""neuroplast: an evidence-calibrated, multi-scale simulator of neuroplasticity in depression.

Research and education software, not a medical device.

Public API (explicit re-exports only; importing changes nothing in the process)::

    import neuroplast as npl

    npl.engine.configure()  # float64, XLA's CPU options, the allocator: once, before the first simulation
    model = npl.default_model()
    regimen = npl.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}])
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 100, seed=1)
    sim = npl.simulate(model, regimen, cohort, saveat=[0, 1, 24, 168], engine=npl.engine.Tsit5())
"""

from . import engine
from ._errors import DoseCeilingError, NeuroplastInputError, PatientStatus
from .cohort import Cohort, Inclusion, sample_cohort, typical_patient
from .model import Model
from .parameters import PopulationModel, default_model
from .regimen import Dose, Regimen, build_regimen
from .simulation import Simulation, simulate

__version__ = "0.1.0"
DISCLAIMER = "neuroplast is research and education software, not a medical device."

__all__ = [
    "DISCLAIMER",
    "Cohort",
    "Dose",
    "DoseCeilingError",
    "Inclusion",
    "Model",
    "NeuroplastInputError",
    "PatientStatus",
    "PopulationModel",
    "Regimen",
    "Simulation",
    "__version__",
    "build_regimen",
    "default_model",
    "engine",
    "sample_cohort",
    "simulate",
    "typical_patient",
]
