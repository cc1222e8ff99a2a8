"""Prefrontal dendritic spine density and fast synaptic potentiation.

Spine density ``s`` is a fraction of the healthy density. Spines form at rate
``k (1 + gain r mtor)`` and are eliminated at ``k (1 + stress) s``, with ``k = 1/lifetime``
(Attardo 2015, E03). Without drug, ``s* = 1/(1 + stress)``: chronic stress lowers density
(E04-E06). mTORC1 activity transiently raises formation (Li 2010, D01; Moda-Sava 2019, E08);
the gain then decays with the spine lifetime, over days to weeks (E09).
The extra formation rebuilds spines that stress removed: ketamine selectively restores eliminated spines
(E08; E06: it reverses the stress deficit), so the driven formation is scaled by the share of lost
spines still missing, ``vacant = (1 - s) / (1 - s*)`` (1 at the depressed baseline, 0 at the healthy
density). Repeated doses therefore saturate: each one fills a share of what is left, and density never
passes the healthy level through drive alone. No parameter is added.
Fast potentiation ``p`` (AMPA insertion, homeostatic potentiation, H03) rises with the
glutamate surge and fades within about a day: it carries the relief of the first hours,
before new spines appear (E07). ``r`` is the patient's plasticity responsiveness.
Slow trophic drives raise formation too: the SSRI-driven trophic state (weeks; F06, H04) and
exercise fitness (BDNF), each with its own gain ``trophic_drive = ssri_gain T + fitness_gain X``.
Stress follows mood: the load that eliminates spines falls with the relief the patient feels,
``stress (1 - c relief)`` with ``relief = 1 - mood (1 - expectancy)`` (0 at the depressed baseline), so relief
that lasts days lets spines recover further and consolidates it (stress generation in depression,
hammen2006_stress_generation; ``c`` = ``stress_relief_coupling``). The baseline is unchanged.
States: ``spines, potentiation``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..._types import PerPatient
from ..patients import Patients


class Spines(eqx.Module):
    lifetime_h: PerPatient
    gain: PerPatient
    potentiation_gain: PerPatient
    tau_potentiation: PerPatient
    stress: PerPatient
    responsiveness: PerPatient
    ssri_gain: PerPatient
    fitness_gain: PerPatient
    stress_coupling: PerPatient

    @classmethod
    def build(cls, p: Patients) -> Spines:
        return cls(
            lifetime_h=p.leaf(p.q("spine_lifetime", "h")),
            gain=p.leaf(p.q("spine_gain")),
            potentiation_gain=p.leaf(p.q("potentiation_gain", "1/h")),
            tau_potentiation=p.leaf(p.q("tau_potentiation", "h")),
            stress=p.leaf(p.q("stress_load") * p.eta("stress_load")),
            responsiveness=p.leaf(p.column("responsiveness")),
            ssri_gain=p.leaf(p.q("ssri_spine_gain")),
            fitness_gain=p.leaf(p.q("fitness_spine_gain")),
            stress_coupling=p.leaf(p.q("stress_relief_coupling")),
        )

    n_states = 2
    names = ("spines", "potentiation")
    units = ("fraction of healthy", "1")

    def baseline(self):
        return 1.0 / (1.0 + self.stress)

    def formation(self, s, mtor, trophic=0.0, fitness=0.0):
        """Spine formation per unit ``k``: ``1 + r (g mTORC1⁺ + g_T T + g_X X) vacant``."""
        slow = self.ssri_gain * trophic + self.fitness_gain * fitness
        vacant = jnp.maximum(1.0 - s, 0.0) * (1.0 + self.stress) / self.stress  # (1 - s) / (1 - s*)
        return 1.0 + self.responsiveness * (self.gain * jnp.maximum(mtor, 0.0) + slow) * vacant

    def rhs(self, x, glu, mtor, trophic=0.0, fitness=0.0, relief=0.0):
        """``relief``: the share of the baseline score the patient no longer feels, ``1 - mood (1 - expectancy)``."""
        s, p = x[0], x[1]
        k = 1.0 / self.lifetime_h
        r = self.responsiveness
        stress = self.stress * (1.0 - self.stress_coupling * jnp.clip(relief, 0.0, 1.0))
        d_s = k * (self.formation(s, mtor, trophic, fitness) - (1.0 + stress) * s)
        d_p = self.potentiation_gain * r * jnp.maximum(glu, 0.0) - p / self.tau_potentiation
        return jnp.stack([d_s, d_p])
