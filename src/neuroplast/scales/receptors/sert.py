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
from jaxtyping import Array, Float


class SERTOccupancy(eqx.Module):
    emax: Float[Array, ""]
    ec50_esc: Float[Array, ""]  # uM
    ec50_ser: Float[Array, ""]  # uM

    def occupancy(self, c_esc, c_ser):
        x = jnp.maximum(c_esc, 0.0) / self.ec50_esc + jnp.maximum(c_ser, 0.0) / self.ec50_ser
        return self.emax * x / (1.0 + x)


class HNKAction(eqx.Module):
    emax: Float[Array, ""]  # AMPA drive at saturation, in units of the glutamate surge
    ec50: Float[Array, ""]  # uM

    def ampa_drive(self, c_hnk):
        c = jnp.maximum(c_hnk, 0.0)
        return self.emax * c / (c + self.ec50)
