"""The circuit scale: a region-level rate model of the mood circuit and a spiking E/I check.

Public API (see :mod:`.rate` for the model, its units and sources)::

    state = mood_circuit(sim, times_h=[0, 24, 168])   # CircuitState: activity (n,T,R), fc (n,T,R,R)
    hooks = subcircuit_activity(sim)                   # {"fear", "reward", "compulsion"}: (n,T), healthy 0, baseline 1
    healthy = healthy_circuit()

``spiking`` (Brian2, optional extra ``neuroplast[spiking]``) is imported on use only.
"""

from ...parameters.circuits import CIRCUIT_PARAMETERS, LABELS, PROJECTIONS, REGIONS
from .rate import (
    SUBCIRCUITS,
    CircuitConstants,
    CircuitState,
    circuit_from_factors,
    healthy_circuit,
    mood_circuit,
    plasticity_factors,
    stationary_covariance,
    subcircuit_activity,
)

__all__ = [
    "CIRCUIT_PARAMETERS",
    "LABELS",
    "PROJECTIONS",
    "REGIONS",
    "SUBCIRCUITS",
    "CircuitConstants",
    "CircuitState",
    "circuit_from_factors",
    "healthy_circuit",
    "mood_circuit",
    "plasticity_factors",
    "stationary_covariance",
    "subcircuit_activity",
]
