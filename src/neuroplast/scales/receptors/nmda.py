"""NMDA receptor block by (S)/(R)-ketamine and (S)/(R)-norketamine.

Competitive occupancy of one site by several ligands: with ``x_j = fu C_j / Ki_j``,
``occupancy = sum x / (1 + sum x)`` (law of mass action at equilibrium with the effect
site). Racemic drug and metabolite are split 50:50 between enantiomers (stereoselective PK
is left to a later model). Ki values: Ebert 1997 (B01-B04). Block is stronger on fast-spiking
interneurons, whose channels are open more often (trapping open-channel block, B07): their
effective affinity is multiplied by ``interneuron_selectivity``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


class NMDABlock(eqx.Module):
    ki_s_ket: Float[Array, ""]
    ki_r_ket: Float[Array, ""]
    ki_s_nk: Float[Array, ""]
    ki_r_nk: Float[Array, ""]
    fu: Float[Array, ""]
    interneuron_selectivity: Float[Array, ""]

    def occupancy(self, ket_um, nk_um):
        """(pyramidal, interneuron) fractional block in [0, 1] from effect-site racemic uM."""
        # Clip round-off below zero (effect sites decay towards 0 from above).
        half_k = 0.5 * self.fu * jnp.maximum(ket_um, 0.0)
        half_n = 0.5 * self.fu * jnp.maximum(nk_um, 0.0)
        x = (half_k / self.ki_s_ket + half_k / self.ki_r_ket
             + half_n / self.ki_s_nk + half_n / self.ki_r_nk)
        xi = self.interneuron_selectivity * x
        return x / (1.0 + x), xi / (1.0 + xi)
