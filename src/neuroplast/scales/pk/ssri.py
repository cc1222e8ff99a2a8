"""Oral SSRIs taken daily: escitalopram and sertraline, one compartment each.

Both are absorbed from a first-order oral depot (closed form, :mod:`.absorption`) and cleared
linearly, so daily dosing accumulates to a steady state after about five half-lives (~1 week)
with an accumulation factor ``1 / (1 - exp(-k tau))``. Doses enter already multiplied by the
oral bioavailability. States: ``escitalopram_central``, ``sertraline_central`` (umol).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


class SSRIPK(eqx.Module):
    cl_esc: Float[Array, ""]  # L/h (apparent oral clearance x F)
    v_esc: Float[Array, ""]  # L
    cl_ser: Float[Array, ""]
    v_ser: Float[Array, ""]

    n_states = 2
    names = ("escitalopram_central", "sertraline_central")
    units = ("umol", "umol")

    def rhs(self, x, inputs):
        in_esc, in_ser = inputs
        return jnp.stack([in_esc - self.cl_esc * x[0] / self.v_esc, in_ser - self.cl_ser * x[1] / self.v_ser])

    def plasma(self, x):
        """Plasma concentrations (uM) of escitalopram and sertraline."""
        return x[..., 0] / self.v_esc, x[..., 1] / self.v_ser

    def system(self):
        from .compartments import linear_system

        return linear_system(self, self.n_states, 2)
