"""Serotonin-transporter (SERT) occupancy by SSRIs, and the AMPA action of (2R,6R)-HNK.

SERT occupancy follows an Emax relation in plasma concentration (PET studies: Meyer 2004;
Klein 2006; Takano 2006), with every oral antidepressant species (escitalopram, sertraline, duloxetine,
venlafaxine and ODV) competing for the same site: ``occ = Emax x / (1 + x)``, ``x = sum_i C_i / EC50_i``.

(2R,6R)-HNK enhances AMPA-receptor throughput independently of NMDA block (Zanos 2016); its
effect is an Emax function of effect-site HNK, added to the surge's drive of BDNF.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..._types import PerPatient, PerSpecies
from ..._units import NG_PER_UMOL
from ...catalog import ORAL_SPECIES
from ..patients import Patients
from ..pk.antidepressants import SHORT


class SERTOccupancy(eqx.Module):
    emax: PerPatient
    ec50: PerSpecies  # uM, one per oral-antidepressant species

    @classmethod
    def build(cls, p: Patients) -> SERTOccupancy:
        """EC50s from ng/mL (PET studies) to uM by the molar masses."""
        ec50 = [p.q(f"sert_ec50_{SHORT[s]}", "ng/mL") / NG_PER_UMOL[s] for s in ORAL_SPECIES]
        return cls(emax=p.leaf(p.q("sert_emax")), ec50=p.rows(ec50))

    def occupancy(self, *conc):
        """Occupancy from every species' plasma concentration (uM), in :data:`ORAL_SPECIES` order."""
        x = jnp.maximum(conc[0], 0.0) / self.ec50[..., 0]
        for i in range(1, len(conc)):
            x = x + jnp.maximum(conc[i], 0.0) / self.ec50[..., i]
        return self.emax * x / (1.0 + x)


class HNKAction(eqx.Module):
    emax: PerPatient  # AMPA drive at saturation, in units of the glutamate surge
    ec50: PerPatient  # uM

    @classmethod
    def build(cls, p: Patients) -> HNKAction:
        return cls(emax=p.leaf(p.q("hnk_ampa_emax")), ec50=p.leaf(p.q("hnk_ampa_ec50", "uM")))

    def ampa_drive(self, c_hnk):
        c = jnp.maximum(c_hnk, 0.0)
        return self.emax * c / (c + self.ec50)
