"""Mood state driven by synaptic connectivity, a placebo/expectancy process, and read-outs.

``mood`` is depression depth relative to the patient's own baseline (1 = as at enrolment,
0 = no symptoms). It relaxes, within hours, towards the deficit of effective prefrontal
connectivity (spines + fast potentiation) relative to the baseline deficit::

    target = max(0, (1 - connectivity) / (1 - baseline_spines)) x (1 - learning)

``learning`` is what psychotherapy, practice and the natural course have unlearned of the negative
state (:mod:`.learning`). Under an SSRI the target is also scaled by ``1 - ssri_mood_gain x T``: a
fast serotonergic route through the trophic state ``T`` (days), beside the slow route through new
spines (weeks) — together they give the early, then growing, SSRI effect (taylor2006_ssri_onset).

Expectancy is its own process (not drug effect): each infusion session builds it towards
``base + felt x (felt drug effect)``, after which it fades over days. A felt effect —
midazolam sedation, ketamine dissociation — strengthens it (functional unblinding), which
is why midazolam arms respond more than saline arms (Wilkinson 2019). Taking a pill each day (an SSRI
or its placebo) builds expectancy too, towards ``pill_factor`` x the base (fitted to placebo response
in antidepressant trials, furukawa2016_placebo) but slowly, a little with each pill, so placebo
response grows over the first weeks (furukawa2016: longer trials, more placebo response). A patient who knows
the arm is an active treatment (an open-label trial: :meth:`~neuroplast.trials.TrialSpec.open_label`) expects
more: the base of a session's amplitude is raised by the factor ``1 + expectancy_open``, fitted to the open-label
series of the calibration set beside the blinded trials. A daily pill taken knowingly has its own factor,
``1 + expectancy_open_pill``, fitted with STAR*D level 1 (open label) in stage 3: the infusion series and the
pill trial need different increments. The true score is
``baseline_score x mood x (1 - expectancy)``; observed scores add rater noise.
States: ``mood, expectancy``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..._types import PerPatient
from ..patients import Patients


class Mood(eqx.Module):
    tau_mood: PerPatient
    expectancy_base: PerPatient
    expectancy_felt: PerPatient
    tau_expectancy: PerPatient
    k_expectancy: PerPatient
    baseline_madrs: PerPatient  # the patient's true baseline severity (MADRS points)
    pill_factor: PerPatient
    k_expectancy_pill: PerPatient  # 1/h while a pill's session window is on: pill expectancy builds over weeks
    ssri_mood_gain: PerPatient  # fast serotonergic relief per unit trophic state (days: the early SSRI onset)
    open_factor: PerPatient  # 1 + expectancy_open for a patient told the treatment is active (open label), else 1
    open_pill_factor: PerPatient  # 1 + expectancy_open_pill, the same for the daily pill's expectancy

    @classmethod
    def build(cls, p: Patients) -> Mood:
        return cls(
            tau_mood=p.leaf(p.q("tau_mood", "h")),
            expectancy_base=p.leaf(p.q("expectancy_base") * p.eta("expectancy_base")),
            expectancy_felt=p.leaf(p.q("expectancy_felt")),
            tau_expectancy=p.leaf(p.q("tau_expectancy", "h")),
            k_expectancy=p.leaf(p.q("k_expectancy", "1/h")),
            baseline_madrs=p.leaf(p.column("baseline_madrs_true")),
            pill_factor=p.leaf(p.q("pill_factor")),
            k_expectancy_pill=p.leaf(p.q("k_expectancy_pill", "1/h")),
            ssri_mood_gain=p.leaf(p.q("ssri_mood_gain")),
            open_factor=p.leaf(1.0 + p.q("expectancy_open") * p.column("open_label", default=0.0)),
            open_pill_factor=p.leaf(1.0 + p.q("expectancy_open_pill") * p.column("open_label", default=0.0)),
        )

    n_states = 2
    names = ("mood", "expectancy")
    units = ("1", "1")

    def rhs(self, x, connectivity, baseline_spines, session, felt, learning=0.0, pill=0.0, trophic=0.0):
        mood, expectancy = x[0], x[1]
        target = (
            jnp.maximum((1.0 - connectivity) / (1.0 - baseline_spines), 0.0)
            * (1.0 - learning)
            * jnp.maximum(1.0 - self.ssri_mood_gain * trophic, 0.0)
        )
        d_mood = (target - mood) / self.tau_mood
        amplitude = jnp.clip(self.expectancy_base * self.open_factor + self.expectancy_felt * felt, 0.0, 0.9)
        pill_amplitude = jnp.clip(self.expectancy_base * self.open_pill_factor * self.pill_factor, 0.0, 0.9)
        d_exp = (
            session * self.k_expectancy * (amplitude - expectancy)
            + pill * self.k_expectancy_pill * jnp.maximum(pill_amplitude - expectancy, 0.0)
            - expectancy / self.tau_expectancy
        )
        return jnp.stack([d_mood, d_exp])

    def madrs(self, mood, expectancy):
        """True (noise-free) MADRS from the mood and expectancy states."""
        return self.baseline_madrs * mood * (1.0 - expectancy)


def hamd17_from_madrs(madrs, per_madrs):
    """HAM-D17 from MADRS by linear linking through the origin (Leucht 2018: MADRS = 1.3 HAMD)."""
    return madrs * per_madrs
