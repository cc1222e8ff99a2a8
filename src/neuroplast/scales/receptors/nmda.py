"""NMDA receptor block by (S)/(R)-ketamine and (S)/(R)-norketamine.

Competitive occupancy of one site by several ligands: with ``x_j = fu C_j / Ki_j``,
``occupancy = sum x / (1 + sum x)`` (law of mass action at equilibrium with the effect
site), from the effect-site concentration of each enantiomer (stereoselective PK). Ki values: Ebert 1997 (B01-B04). Block is stronger on fast-spiking
interneurons, whose channels are open more often (trapping open-channel block, B07): their
effective affinity is multiplied by ``interneuron_selectivity``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..._types import PerPatient
from ..patients import Patients


class NMDABlock(eqx.Module):
    ki_s_ket: PerPatient
    ki_r_ket: PerPatient
    ki_s_nk: PerPatient
    ki_r_nk: PerPatient
    fu: PerPatient
    interneuron_selectivity: PerPatient

    @classmethod
    def build(cls, p: Patients) -> NMDABlock:
        return cls(
            ki_s_ket=p.leaf(p.q("ki_s_ket", "uM")),
            ki_r_ket=p.leaf(p.q("ki_r_ket", "uM")),
            ki_s_nk=p.leaf(p.q("ki_s_nk", "uM")),
            ki_r_nk=p.leaf(p.q("ki_r_nk", "uM")),
            fu=p.leaf(p.q("fu_ket")),
            interneuron_selectivity=p.leaf(p.q("interneuron_selectivity")),
        )

    def occupancy(self, s_ket, r_ket, s_nk, r_nk):
        """(pyramidal, interneuron) fractional block in [0, 1] from effect-site uM of each species."""
        # Clip round-off below zero (effect sites decay towards 0 from above).
        c = [self.fu * jnp.maximum(v, 0.0) for v in (s_ket, r_ket, s_nk, r_nk)]
        x = c[0] / self.ki_s_ket + c[1] / self.ki_r_ket + c[2] / self.ki_s_nk + c[3] / self.ki_r_nk
        xi = self.interneuron_selectivity * x
        return x / (1.0 + x), xi / (1.0 + xi)

    def racemic_equivalent(self, s_ket, r_ket):
        """The racemic ketamine concentration giving the same NMDA block as ``s_ket`` + ``r_ket``.

        Dissociation and the pressor response scale with NMDA-blocking potency: (S)-ketamine is
        about 4-5x as potent as (R) (B01, B02). For a racemate this returns ``s_ket + r_ket``.
        """
        w_s, w_r = 1.0 / self.ki_s_ket, 1.0 / self.ki_r_ket
        return (w_s * jnp.maximum(s_ket, 0.0) + w_r * jnp.maximum(r_ket, 0.0)) / (0.5 * (w_s + w_r))
