"""Learning that weakens the negative mood state: psychotherapy, practice, and the natural course.

``learning`` (0-1) is the share of the negative mood state ("negative thought patterns") unlearned.
It grows with each therapy session by ``k_session x efficacy(kind) x window`` of what is left, grows
slowly by itself in non-resistant depression (the natural course: spontaneous improvement on wait
lists, rutherford2012_waitlist) and is forgotten over months (the effect of CBT persists 6-12 months,
cuijpers2023_cbt)::

    d learning / dt = (k_natural + k_session window sum_kind efficacy_kind session_kind(t)) (1 - learning)
                      - learning / tau_forget

The *plasticity window* multiplies the rate of learning: ``window = 1 + window_gain x excess``, where
``excess`` is effective prefrontal connectivity above the patient's depressed baseline (as a share of
the deficit: ketamine's new spines and potentiation, SSRIs' slow trophic rise) plus the contribution of
immature adult-born neurons above their depressed level (their heightened plasticity, F04).
State: ``learning``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..._types import PerKind, PerPatient
from ...catalog import KINDS, THERAPIES
from ..patients import Patients


class Learning(eqx.Module):
    k_natural: PerPatient  # 1/h
    k_session: PerPatient  # share of what is left unlearned per CBT session at window 1
    efficacy: PerKind  # per kind, relative to CBT (exercise acts through fitness instead: 0)
    session_h: PerKind  # each kind's usual session length: learning counts sessions of that length
    tau_forget_h: PerPatient
    window_gain: PerPatient
    immature_weight: PerPatient

    @classmethod
    def build(cls, p: Patients) -> Learning:
        """The natural course only where the population has one (not treatment-resistant depression); each
        patient's learning aptitude scales both rates."""
        aptitude = p.column("learning_aptitude", 1.0)
        natural = p.q("k_natural", "1/h") if p.natural_course else 0.0
        efficacy = [1.0 if k == "cbt" else 0.0 if k == "exercise" else p.q(f"efficacy_{k}") for k in KINDS]
        return cls(
            k_natural=p.leaf(natural * aptitude),
            k_session=p.leaf(p.q("k_session") * aptitude),
            efficacy=p.rows(efficacy),
            session_h=p.rows([THERAPIES[k].session_h for k in KINDS]),
            tau_forget_h=p.leaf(p.q("tau_forget", "h")),
            window_gain=p.leaf(p.q("window_gain")),
            immature_weight=p.leaf(p.q("window_immature_weight")),
        )

    n_states = 1
    names = ("learning",)
    units = ("fraction",)

    def window(self, connectivity, baseline_spines, immature, immature_baseline):
        excess = jnp.maximum(connectivity - baseline_spines, 0.0) / (
            1.0 - baseline_spines
        ) + self.immature_weight * jnp.maximum(immature - immature_baseline, 0.0)
        return 1.0 + self.window_gain * excess

    def rhs(self, x, sessions, window):
        """``sessions``: (5,) 1 while a session of each kind is on (hours of session per hour)."""
        learning = x[0]
        rate = self.k_natural + self.k_session * window * jnp.sum(self.efficacy * sessions / self.session_h)
        return jnp.stack([rate * (1.0 - learning) - learning / self.tau_forget_h])
