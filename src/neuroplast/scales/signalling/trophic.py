"""Slow trophic signalling (weeks): SSRI-driven CREB/BDNF up-regulation, and exercise fitness.

``trophic`` follows SERT occupancy with a weeks-long time constant: antidepressants act on
neurogenesis and behaviour only after chronic, not acute, exposure (F06, F07), and chronic SSRI
treatment reopens juvenile-like cortical plasticity through BDNF (H04). ``fitness`` is the exercise
level: each exercise session adds to it, it fades over weeks without training; 1 is the guideline
dose of 150 min of moderate exercise per week. Both raise spine formation (BDNF) and neurogenesis.
States: ``trophic, fitness``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


class Trophic(eqx.Module):
    tau_trophic_h: Float[Array, ""]
    tau_fitness_h: Float[Array, ""]
    exercise_ref_h_per_week: Float[Array, ""]  # session hours per week that hold fitness at 1

    n_states = 2
    names = ("trophic", "fitness")
    units = ("fraction", "guideline doses")

    def rhs(self, x, sert_occupancy, exercise_hours_rate):
        """``exercise_hours_rate``: 1 while an exercise session is on (h of exercise per h)."""
        trophic, fitness = x[0], x[1]
        d_t = (sert_occupancy - trophic) / self.tau_trophic_h
        # at the reference weekly hours the mean input is ref/168 per hour, which holds fitness at 1
        d_f = (exercise_hours_rate * 168.0 / self.exercise_ref_h_per_week - fitness) / self.tau_fitness_h
        return jnp.stack([d_t, d_f])
