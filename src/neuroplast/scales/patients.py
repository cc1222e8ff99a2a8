"""What a scale's constructor reads: the population model and the patients it is built for.

Each scale builds itself (``Scale.build(patients)``) from the registry's typical values, converted to the
scale's internal units by pint (:meth:`Patients.q`), and from the patients' covariates and realised random
effects (:meth:`Patients.column`, :meth:`Patients.eta`). Leaves are arrays with a leading patient axis; a
one-row cohort gives one patient (``vmap`` turns one into the other).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import numpy as np
import pandas as pd

from ..parameters import PopulationModel

REFERENCE_WEIGHT_KG = 70.0
"""Clearances and volumes in the registry are per 70 kg adult."""


def on_host(x):
    """A numpy leaf in JAX's dtype for it (float32 unless float64 is enabled), as ``jax.device_put`` would make it."""
    x = np.asarray(x)
    return x.astype(jax.dtypes.canonicalize_dtype(x.dtype), copy=False)


@dataclasses.dataclass(frozen=True)
class Patients:
    """The population model and a table of patients (one row each), as the scales' constructors read them.

    ``natural_course``: whether the population improves by itself (non-resistant depression). ``host``: numpy
    leaves (for the engines, which slice them on the host and hand them to compiled kernels); else device
    arrays."""

    population: PopulationModel
    table: pd.DataFrame
    natural_course: bool = False
    host: bool = False

    def __len__(self) -> int:
        return len(self.table)

    @property
    def put(self) -> Callable:
        return on_host if self.host else jax.device_put

    def q(self, name: str, unit: str = "1") -> float:
        """The typical value of parameter ``name`` in ``unit`` (converted by pint from its registry unit)."""
        return self.population.quantity(name, unit)

    def leaf(self, x) -> jax.Array:
        """A per-patient leaf (n,) from a scalar or an (n,) array."""
        # device_put, not jnp.asarray: no eager conversion program to compile per shape (~5 ms each, cold)
        return self.put(np.broadcast_to(np.asarray(x, dtype=float), (len(self),)).copy())

    def rows(self, x) -> jax.Array:
        """A per-patient leaf (n, k) repeating the row ``x`` (k,)."""
        return self.put(np.tile(np.asarray(x, dtype=float), (len(self), 1)))

    def table_leaf(self, x) -> jax.Array:
        """A leaf (n, k) already laid out per patient."""
        return self.put(np.asarray(x))

    def column(self, name: str, default: float | None = None) -> np.ndarray:
        """A covariate column; ``default`` where the table lacks it (``None``: it must be there)."""
        if name not in self.table and default is not None:
            return np.full(len(self), float(default))
        return self.table[name].to_numpy()

    def eta(self, name: str) -> np.ndarray:
        """The patients' realised random effect on ``name`` (a multiplicative factor, median 1)."""
        return self.table[f"eta_{name}"].to_numpy()

    @property
    def weight(self) -> np.ndarray:
        """Body weight over the 70 kg reference."""
        return self.column("weight_kg") / REFERENCE_WEIGHT_KG

    @property
    def cl_scale(self) -> np.ndarray:
        """Allometric scaling of clearances: (W/70)^0.75 (standard in population PK)."""
        return self.weight**0.75

    @property
    def v_scale(self) -> np.ndarray:
        """Allometric scaling of volumes: W/70."""
        return self.weight
