"""Adult neurogenesis in the dentate gyrus and hippocampal volume.

``immature`` is the pool of immature adult-born granule cells (those inside their weeks-long window
of heightened plasticity, F04), relative to a healthy adult (1). It follows the birth rate with the
window's length ``tau_immature``::

    birth = age_factor (1 + ssri_gain T + exercise_gain X) / (1 + stress)
    d immature / dt = (birth - immature) / tau_immature

Chronic stress suppresses proliferation (F11), chronic — not acute — antidepressant exposure raises it
(F06, F07: through the slow trophic state ``T``), running doubles the survival of new cells (F08, F09:
``X`` is the exercise level, 1 = the guideline dose) and the rate declines with age (F01). The birth
rate read-out is in new neurons per day (700 per hippocampus per day in healthy adults, F01).

``volume`` is hippocampal volume as a fraction of healthy. It falls while depression goes untreated
(Sheline 2003, G04: about 10% over 824 untreated days; days on antidepressants did not count, so
the trophic state protects) and rises with exercise (Erickson 2011, F12: +2% over a year)::

    d volume / dt = -loss mood (1 - T) + exercise_gain_volume X

A patient's starting volume reflects the untreated part of the illness history (a cohort covariate).
Ketamine has no direct term: no hippocampal volume change 1-2 or 9-10 days after an infusion (G09).
States: ``immature_neurons, hippocampal_volume``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..._types import PerPatient
from ..patients import Patients


class Neurogenesis(eqx.Module):
    tau_immature_h: PerPatient
    ssri_gain: PerPatient
    exercise_gain: PerPatient
    age_factor: PerPatient
    stress: PerPatient
    volume_loss_per_h: PerPatient  # fraction of healthy volume lost per hour of full, untreated depression
    volume_gain_per_h: PerPatient  # fraction gained per hour at exercise level 1
    volume0: PerPatient  # the patient's volume at enrolment (fraction of healthy)

    @classmethod
    def build(cls, p: Patients) -> Neurogenesis:
        """Birth declines with age above 45 (clipped to [0.2, 1.5] of the reference); the volume at enrolment
        reflects the years of untreated illness (clipped to [0.7, 1])."""
        loss = p.q("volume_loss_untreated", "1/year")
        age = p.column("age_y")
        return cls(
            tau_immature_h=p.leaf(p.q("tau_immature", "h")),
            ssri_gain=p.leaf(p.q("ssri_neurogenesis_gain")),
            exercise_gain=p.leaf(p.q("exercise_neurogenesis_gain")),
            age_factor=p.leaf(np.clip(1.0 - p.q("neurogenesis_age_decline", "1/year") * (age - 45.0), 0.2, 1.5)),
            stress=p.leaf(p.q("stress_load") * p.eta("stress_load")),
            volume_loss_per_h=p.leaf(p.q("volume_loss_untreated", "1/h")),
            volume_gain_per_h=p.leaf(p.q("volume_gain_exercise", "1/h")),
            volume0=p.leaf(np.clip(1.0 - loss * p.column("untreated_y", 0.0), 0.7, 1.0)),
        )

    n_states = 2
    names = ("immature_neurons", "hippocampal_volume")
    units = ("fraction of healthy", "fraction of healthy")

    def birth(self, trophic, fitness):
        """Birth rate of new neurons relative to a healthy adult."""
        return self.age_factor * (1.0 + self.ssri_gain * trophic + self.exercise_gain * fitness) / (1.0 + self.stress)

    def baseline(self):
        return jnp.stack([self.birth(0.0, 0.0), self.volume0])

    def rhs(self, x, trophic, fitness, mood):
        immature = x[0]
        d_imm = (self.birth(trophic, fitness) - immature) / self.tau_immature_h
        untreated = jnp.maximum(mood, 0.0) * jnp.clip(1.0 - trophic, 0.0, 1.0)
        d_vol = -self.volume_loss_per_h * untreated + self.volume_gain_per_h * fitness
        return jnp.stack([d_imm, d_vol])
