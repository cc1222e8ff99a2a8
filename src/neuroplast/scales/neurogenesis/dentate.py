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
from jaxtyping import Array, Float


class Neurogenesis(eqx.Module):
    tau_immature_h: Float[Array, ""]
    ssri_gain: Float[Array, ""]
    exercise_gain: Float[Array, ""]
    age_factor: Float[Array, ""]
    stress: Float[Array, ""]
    volume_loss_per_h: Float[Array, ""]  # fraction of healthy volume lost per hour of full, untreated depression
    volume_gain_per_h: Float[Array, ""]  # fraction gained per hour at exercise level 1
    volume0: Float[Array, ""]  # the patient's volume at enrolment (fraction of healthy)

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
