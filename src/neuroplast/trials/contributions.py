"""Where relief comes from: the change from baseline split into its routes, in points of the trial's scale.

The depression scales read the true score ``B x mood x (1 - expectancy)`` (:mod:`neuroplast.scales.symptoms.mood`),
and mood relaxes with ``tau_mood`` towards a *product* of factors, each one route's (all 1 at baseline)::

    target = D(connectivity) x (1 - L_nat) x (1 - L) / (1 - L_nat) x max(1 - ssri_mood_gain T, 0)
             plasticity       natural_course  learning                ssri_direct

* ``plasticity``: the connectivity deficit ``D`` (spines and fast potentiation: ketamine's mTORC1 surge, HNK,
  the SSRIs' and exercise's slow spine formation);
* ``natural_course``: ``L_nat``, the learning state without any session, in closed form
  (``k/(k + 1/tau_forget) (1 - exp(-(k + 1/tau_forget) t))``; zero in ``trd``);
* ``learning``: what sessions added to the learning state, ``(1 - L)/(1 - L_nat)`` (the plasticity window's
  speed-up of therapy is here: it acts through learning). Without forgetting this factor is exactly the
  sessions-only counterfactual ``exp(-integral of the session rate)``; forgetting (one year) barely bends it;
* ``ssri_direct``: the fast serotonergic scaling of the target through the trophic state (any SERT blocker);
* ``expectancy``: the factor ``1 - expectancy`` of the score.

Stress load is constant per patient: it sets the baseline, not the change, so it has no route of its own.

**The rule, exact in sum.** (1) The target's change ``target - 1`` is split by the Shapley value of the product
game over its four factors (a route's average marginal effect over the orders in which routes can be switched
on: symmetric, zero for a factor that stays 1, and summing exactly to ``target - 1``). (2) Mood is a linear
filter of the target (``dm/dt = (target - m)/tau_mood``), so each route's part of ``m - 1`` is the same filter
driven by that route's part alone (superposition), integrated exactly on the saved grid for inputs linear
between saves (:func:`filter_linear`); what the grid cannot resolve (a few 1e-3 of the change at most where
saves are 6 h apart) is shared in proportion to the routes' magnitudes, so the parts add up to ``m - 1``.
(3) ``mood x (1 - expectancy)`` is split by the two-factor Shapley value (half the interaction to each side;
the mood side in the proportions of step 2). (4) The instrument's true score is the scale's link of the true
MADRS; the score change is distributed with the link's mean slope along the way (exact for the linear HAM-D
links and MADRS, the chord of the crosswalk for QIDS-SR16 and PHQ-9). (5) What the rater adds, ``rating`` —
observed minus true change: rater noise, rounding and the scale's floor and ceiling — is its own key, so the
keys sum to ``mean_change`` to round-off.

Scales of other conditions read sub-circuits, not this mood state: their trials have no contributions.
Everything here is numpy on saved read-outs (no second simulation).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..instruments import DEPRESSION_POPULATIONS, INSTRUMENTS
from ..model import Model
from ..simulation import PopulationModel, Simulation

MOOD_ROUTES = ("plasticity", "natural_course", "learning", "ssri_direct")
"""The routes that act on mood's target, in the order of the factors of the target."""
ROUTES = ("plasticity", "expectancy", "learning", "natural_course", "ssri_direct")
"""Every route of relief (keys of ``contributions``, before ``rating``)."""
KEYS = (*ROUTES, "rating")
"""The keys of a timepoint's ``contributions`` in ``summary.json``."""


def applies(scale: str) -> bool:
    """Whether the trial's scale reads the depression mood state (a condition's scale does not)."""
    return INSTRUMENTS[scale].populations == DEPRESSION_POPULATIONS


def shapley_product(factors: list[np.ndarray]) -> list[np.ndarray]:
    """Shapley values of the game ``v(S) = prod_{i in S} f_i - 1``: one array per factor, summing to
    ``prod f - 1`` (to round-off). Player ``i``'s value is ``(f_i - 1) x sum_S w(|S|) prod_{j in S} f_j`` over
    the coalitions ``S`` without it, with ``w(k) = k! (n - k - 1)! / n!``."""
    n = len(factors)
    out = []
    for i, f_i in enumerate(factors):
        others = [f for j, f in enumerate(factors) if j != i]
        total = np.zeros(np.broadcast(*factors).shape)
        for k in range(n):
            w = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            for coalition in itertools.combinations(others, k):
                total = total + w * np.prod(coalition, axis=0) if coalition else total + w
        out.append((f_i - 1.0) * total)
    return out


def filter_linear(u: np.ndarray, times_h: np.ndarray, tau_h: np.ndarray) -> np.ndarray:
    """``x(t)`` solving ``dx/dt = (u(t) - x)/tau`` from ``x(t_0) = u(t_0)``, with ``u`` linear between the saved
    times (exact then: first-order hold). ``u`` (n, T), ``times_h`` (T,), ``tau_h`` (n,)."""
    x = np.empty_like(u)
    x[:, 0] = u[:, 0]
    tau = np.asarray(tau_h, dtype=float)
    for k in range(1, u.shape[1]):
        h = (times_h[k] - times_h[k - 1]) / tau
        e = np.exp(-h)
        # (1 - e^-h)/h, with its limit 1 - h/2 where h is tiny (two saves at one time)
        g = np.where(h > 1e-8, -np.expm1(-h) / np.maximum(h, 1e-300), 1.0 - 0.5 * h)
        x[:, k] = e * x[:, k - 1] + (g - e) * u[:, k - 1] + (1.0 - g) * u[:, k]
    return x


def mood_parts(ind: Model, readouts: dict, times_h: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``mood - 1``, (n, T), split into :data:`MOOD_ROUTES` by superposition (each route's Shapley part of the
    target's change, filtered alone), and what the save grid leaves over: ``mood - 1 - sum of the parts``
    (zero where the target is linear between saves). ``ind``: the patients' model (:meth:`Model.build`)."""
    ro = {k: np.asarray(v, dtype=float) for k, v in readouts.items()}
    t = np.asarray(times_h, dtype=float)
    s0 = np.asarray(ind.spines.baseline(), dtype=float)[:, None]
    c = ro["spine_density"] + ro["potentiation"]
    deficit = np.maximum((1.0 - c) / (1.0 - s0), 0.0)
    k = np.asarray(ind.learning.k_natural, dtype=float)[:, None]
    rate = k + 1.0 / np.asarray(ind.learning.tau_forget_h, dtype=float)[:, None]
    natural = k / rate * -np.expm1(-rate * t[None, :])  # the learning state without sessions (closed form)
    learned = 1.0 - ro["learning"]
    ssri = np.maximum(1.0 - np.asarray(ind.mood.ssri_mood_gain, dtype=float)[:, None] * ro["trophic"], 0.0)
    factors = [deficit, 1.0 - natural, learned / (1.0 - natural), ssri]
    tau = np.asarray(ind.mood.tau_mood, dtype=float)
    parts = [filter_linear(phi, t, tau) for phi in shapley_product(factors)]
    residual = ro["mood"] - 1.0 - np.sum(parts, axis=0)
    return dict(zip(MOOD_ROUTES, parts, strict=True)), residual


def mood_routes(ind: Model, readouts: dict, times_h: np.ndarray) -> dict[str, np.ndarray]:
    """The change of ``mood x (1 - expectancy)`` from 1, (n, T), split into :data:`ROUTES` (fractions of the
    baseline score; they sum to it to round-off): :func:`mood_parts` with the grid's residual shared in proportion
    to the parts' magnitudes, then the two-factor Shapley split of mood and expectancy."""
    named, residual = mood_parts(ind, readouts, times_h)
    parts = list(named.values())
    size = np.abs(np.stack(parts))
    total = size.sum(axis=0)
    weights = np.where(total > 1e-12, size / np.where(total > 1e-12, total, 1.0), 1.0 / len(parts))
    parts = [p + w * residual for p, w in zip(parts, weights, strict=True)]
    x = np.sum(parts, axis=0)  # mood - 1
    y = -np.asarray(readouts["expectancy"], dtype=float)
    out = {name: p * (1.0 + 0.5 * y) for name, p in zip(MOOD_ROUTES, parts, strict=True)}
    out["expectancy"] = y * (1.0 + 0.5 * x)
    return {name: out[name] for name in ROUTES}


def score_routes(ind: Model, readouts: dict, times_h, table, values: dict, scale: str, observed) -> dict:
    """Per patient and saved time, (n, T): the change of the observed score from time 0 split into :data:`KEYS`
    (points of ``scale``); the keys sum to ``observed - observed[:, :1]`` to round-off."""
    inst = INSTRUMENTS[scale]
    madrs = np.asarray(readouts["madrs_true"], dtype=float)
    true = lambda m: np.asarray(inst.true({"madrs_true": m}, table, values), dtype=float)
    d_madrs = madrs - madrs[:, :1]
    d_true = true(madrs) - true(madrs[:, :1])
    # the link's mean slope from baseline to the visit (points per MADRS point); its derivative where they meet
    h = 1e-3
    local = (true(madrs + h) - true(madrs - h)) / (2.0 * h)
    moved = np.abs(d_madrs) > 1e-6
    slope = np.where(moved, d_true / np.where(moved, d_madrs, 1.0), local)
    routes = mood_routes(ind, readouts, times_h)
    out = {name: slope * madrs[:, :1] * part for name, part in routes.items()}
    observed = np.asarray(observed, dtype=float)
    out["rating"] = (observed - observed[:, :1]) - np.sum(list(out.values()), axis=0)
    return out


def per_patient(sim: Simulation, model: PopulationModel, scale: str, observed) -> dict | None:
    """:func:`score_routes` of a simulated arm with its observed scores (n, T); ``None`` for a scale that does
    not read the depression mood state (:func:`applies`). Failed patients' rows are NaN."""
    if not applies(scale):
        return None
    ind = Model.build(model, sim.cohort, host=True)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return score_routes(ind, sim.readouts, sim.times_h, sim.cohort.table, model.values, scale, observed)


def at_timepoint(per_patient: dict | None, sel: np.ndarray, j: int) -> dict:
    """``{"contributions": {key: arm mean}}`` at saved time ``j`` over the patients ``sel`` (NaN for none), or
    ``{}`` without contributions: the keyword a :class:`~neuroplast.trials.summary.TimepointSummary` takes."""
    if per_patient is None:
        return {}
    if not sel.any():
        return {"contributions": dict.fromkeys(KEYS, math.nan)}
    return {"contributions": {key: float(np.mean(per_patient[key][sel, j])) for key in KEYS}}


def advantage_shares(summary, first: str, second: str, time: str) -> dict[str, float]:
    """How ``first``'s advantage over ``second`` at ``time`` (difference of mean changes) divides among the
    keys: each key's difference over the difference of ``mean_change`` (fractions summing to 1)."""
    a, b = summary.arms[first].at(time), summary.arms[second].at(time)
    diff = a.mean_change - b.mean_change
    return {key: (a.contributions[key] - b.contributions[key]) / diff for key in KEYS}


__all__ = ["KEYS", "MOOD_ROUTES", "ROUTES", "advantage_shares", "applies", "at_timepoint", "filter_linear",
           "mood_parts", "mood_routes", "per_patient", "score_routes", "shapley_product"]  # fmt: skip
