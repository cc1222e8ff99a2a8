"""Oral SSRIs taken daily: escitalopram and sertraline, one compartment each.

Both are absorbed from a first-order oral depot (closed form, :mod:`.absorption`) and cleared
linearly, so daily dosing accumulates to a steady state after about five half-lives (~1 week)
with an accumulation factor ``1 / (1 - exp(-k tau))``. Doses enter already multiplied by the
oral bioavailability. States: ``escitalopram_central``, ``sertraline_central`` (umol).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp

from ..._types import PerPatient
from ..patients import Patients


class SSRIPK(eqx.Module):
    cl_esc: PerPatient  # L/h (apparent oral clearance x F)
    v_esc: PerPatient  # L
    cl_ser: PerPatient
    v_ser: PerPatient

    @classmethod
    def build(cls, p: Patients) -> SSRIPK:
        """Apparent oral clearances (CL/F) x (W/70)^0.75; volumes from clearance and half-life, x W/70."""
        ln2 = math.log(2.0)
        cl_esc, cl_ser = p.q("cl_esc", "L/h"), p.q("cl_ser", "L/h")
        return cls(
            cl_esc=p.leaf(cl_esc * p.eta("cl_esc") * p.cl_scale),
            v_esc=p.leaf(cl_esc * p.q("t_half_esc", "h") / ln2 * p.v_scale),
            cl_ser=p.leaf(cl_ser * p.eta("cl_ser") * p.cl_scale),
            v_ser=p.leaf(cl_ser * p.q("t_half_ser", "h") / ln2 * p.v_scale),
        )

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
