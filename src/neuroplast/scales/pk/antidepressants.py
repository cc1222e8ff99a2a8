"""Oral antidepressants taken daily: one compartment per species, an active metabolite where one matters.

Species (:data:`neuroplast.catalog.ORAL_SPECIES`): escitalopram, sertraline, duloxetine, venlafaxine and its
active metabolite O-desmethylvenlafaxine (ODV, formed by CYP2D6). Each is absorbed from a first-order oral depot
(closed form, :mod:`.absorption`) and cleared linearly, so daily dosing accumulates to a steady state after about
five half-lives with an accumulation factor ``1 / (1 - exp(-k tau))``. Clearances and volumes are apparent oral
values (CL/F, V/F): doses enter whole. A fraction ``formed`` of a parent's clearance forms its metabolite (mole for
mole), which is then cleared with its own apparent clearance. States: ``<species>_central`` (umol).
"""

from __future__ import annotations

import math

import equinox as eqx
import numpy as np

from ..._types import PerPatient, PerSpecies
from ...catalog import METABOLITES, ORAL_DRUGS, ORAL_SPECIES
from ..patients import Patients
from .compartments import linear_system

SHORT = {"escitalopram": "esc", "sertraline": "ser", "duloxetine": "dlx", "venlafaxine": "vlx", "odv": "odv"}
"""The registry's short name of each species (``cl_esc``, ``t_half_esc``, ``sert_ec50_esc`` ...)."""


class AntidepressantPK(eqx.Module):
    cl: PerSpecies  # L/h, apparent oral clearance (CL/F), by species
    v: PerSpecies  # L, apparent volume (V/F), by species
    formed: PerPatient  # fraction of venlafaxine's clearance that forms ODV

    names = tuple(f"{s}_central" for s in ORAL_SPECIES)
    units = ("umol",) * len(ORAL_SPECIES)
    inputs = ORAL_DRUGS  # the dose input channels, one per oral drug (each enters its own species)

    @classmethod
    def build(cls, p: Patients) -> AntidepressantPK:
        """Clearances x (W/70)^0.75 with each drug's log-normal random effect (a metabolite's without one);
        volumes from clearance and half-life, x W/70."""
        ln2 = math.log(2.0)
        cl, v = [], []
        for s in ORAL_SPECIES:
            short = SHORT[s]
            typical = p.q(f"cl_{short}", "L/h")
            eta = p.eta(f"cl_{short}") if f"eta_cl_{short}" in p.table else 1.0
            cl.append(typical * eta * p.cl_scale)
            v.append(typical * p.q(f"t_half_{short}", "h") / ln2 * p.v_scale)
        return cls(
            cl=p.table_leaf(np.stack(cl, axis=-1)),
            v=p.table_leaf(np.stack(v, axis=-1)),
            formed=p.leaf(p.q("f_odv")),
        )

    def rhs(self, x, inputs):
        """dx/dt for amounts ``x`` (species,); ``inputs``: umol/h into each oral drug's own species."""
        cleared = self.cl * x / self.v
        d = -cleared
        for i, drug in enumerate(ORAL_DRUGS):
            d = d.at[ORAL_SPECIES.index(drug)].add(inputs[i])
        for parent, metabolite in METABOLITES.items():
            d = d.at[ORAL_SPECIES.index(metabolite)].add(self.formed * cleared[ORAL_SPECIES.index(parent)])
        return d

    def plasma(self, x):
        """Plasma concentrations (uM), one per species, in :data:`ORAL_SPECIES` order."""
        return tuple(x[..., i] / self.v[..., i] for i in range(len(ORAL_SPECIES)))

    def system(self):

        return linear_system(self, len(ORAL_SPECIES), len(ORAL_DRUGS))


__all__ = ["SHORT", "AntidepressantPK"]
