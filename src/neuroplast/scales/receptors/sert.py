"""Serotonin-transporter (SERT) occupancy by SSRIs, and the AMPA action of (2R,6R)-HNK.

SERT occupancy follows an Emax relation in plasma concentration (PET studies: Meyer 2004;
Klein 2006), with escitalopram and sertraline competing for the same site:
``occ = Emax x / (1 + x)``, ``x = C_esc / EC50_esc + C_ser / EC50_ser``.

(2R,6R)-HNK enhances AMPA-receptor throughput independently of NMDA block (Zanos 2016); its
effect is an Emax function of effect-site HNK, added to the surge's drive of BDNF.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..._types import PerPatient
from ..._units import NG_PER_UMOL
from ..patients import Patients


class SERTOccupancy(eqx.Module):
    emax: PerPatient
    ec50_esc: PerPatient  # uM
    ec50_ser: PerPatient  # uM

    @classmethod
    def build(cls, p: Patients) -> SERTOccupancy:
        """EC50s from ng/mL (PET studies) to uM by the molar masses."""
        return cls(
            emax=p.leaf(p.q("sert_emax")),
            ec50_esc=p.leaf(p.q("sert_ec50_esc", "ng/mL") / NG_PER_UMOL["escitalopram"]),
            ec50_ser=p.leaf(p.q("sert_ec50_ser", "ng/mL") / NG_PER_UMOL["sertraline"]),
        )

    def occupancy(self, c_esc, c_ser):
        x = jnp.maximum(c_esc, 0.0) / self.ec50_esc + jnp.maximum(c_ser, 0.0) / self.ec50_ser
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
