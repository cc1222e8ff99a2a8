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

from ..._types import PerPatient
from ..patients import Patients


class Trophic(eqx.Module):
    tau_trophic_h: PerPatient
    tau_fitness_h: PerPatient
    exercise_ref_h_per_week: PerPatient  # session hours per week that hold fitness at 1

    @classmethod
    def build(cls, p: Patients) -> Trophic:
        return cls(
            tau_trophic_h=p.leaf(p.q("tau_trophic", "h")),
            tau_fitness_h=p.leaf(p.q("tau_fitness", "h")),
            exercise_ref_h_per_week=p.leaf(p.q("exercise_ref_h_per_week", "h/week")),
        )

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
