"""Who leaves a simulated trial, when and why (``[trial.dropout]``; the model: docs/trial-format.md).

Every patient is simulated to the end of the run (the trajectories hold what would have happened on the
assigned treatment); dropout only decides which visits are observed. A patient who leaves at ``left_h`` is
observed at the visits at or before ``left_h`` and at none after.

The model, per patient:

* **After the first dose.** The first dosing visit ends :data:`OBSERVATION_H` after the first dose or session
  ends (time ``s0``). The patient leaves then with probability ``1 - (1 - after_first_dose) ** m0``, with
  ``m0 = 1 + informative * K_AE * a(s0)``: no efficacy visit has been judged yet, only adverse effects.
* **Later.** From ``s0`` to the end of the run the hazard of leaving is
  ``lambda(t) = lambda0 * (1 + informative * (K_EFFICACY * e(t) + K_AE * a(t)))``, with
  ``lambda0 = -ln(1 - per_week)`` per week; ``e`` and ``a`` are read at the last visit at or before ``t``
  (piecewise constant between visits), so the time of leaving solves ``integral lambda = E``, ``E`` a
  standard exponential draw.
* ``e`` (lack of efficacy, 0-1) is ``clip(1 + change / (response * baseline), 0, 1)`` at the last rated visit:
  1 without improvement (or worse), 0 once the score fell by the response fraction; 0 before any visit.
* ``a`` (adverse effects, 0-1) is the worst so far of ``CADSS / CADSS_FULL`` and ``SBP rise / SBP_RISE_FULL``.
* **Reason.** A patient who leaves is given a reason drawn in proportion to the terms of the multiplier when
  they left: ``other`` (the 1), ``lack of efficacy`` and ``adverse event``.

Three uniform draws per patient come from the arm's own dropout stream
(:func:`~neuroplast.cohort.dropout_draws`), so the first ``n`` patients of a larger run leave exactly as they
would alone.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .design import DropoutSpec

REASONS = ("adverse event", "lack of efficacy", "other")
"""The reasons recorded for a patient who leaves (``summary.json``: ``dropped_reasons``)."""

OBSERVATION_H = 2.0
"""Hours after the first dose or session ends during which the patient is still at the first dosing visit (and
rated there): the esketamine label's 2 h of observation (spravato_label_monitoring_2h), used for every arm
(assumption for other drugs, therapy and wait-list arms)."""

K_EFFICACY = 2.0
"""Added hazard multiple of a patient without any improvement when ``informative`` is 1 (assumption: no source
gives the hazard ratio of dropout by improvement; with 2, a non-improver leaves three times as often as a
responder)."""

K_AE = 2.0
"""Added hazard multiple of a patient at the full adverse-effect severity when ``informative`` is 1 (assumption,
as :data:`K_EFFICACY`)."""

CADSS_FULL = 7.7 + 2 * 9.2
"""CADSS points counted as a full adverse effect: two SDs above the mean CADSS during IV ketamine in mood
disorders (mean 7.7, SD 9.2: wilkinson2018_cadss_ketamine); linear below it (assumption)."""

SBP_RISE_FULL = 40.0
"""Systolic rise (mmHg) counted as a full adverse effect: the esketamine label's alert rise
(spravato_label_bp_increase); linear below it (assumption)."""

HOURS_PER_WEEK = 168.0


@dataclasses.dataclass(frozen=True)
class Dropout:
    """One arm's dropout. ``left_h``: hours from the first dose when each patient left (``inf``: stayed to the
    end); ``reason``: one of :data:`REASONS`, ``""`` for those who stayed; ``after_first_dose``: left right after
    the first dose."""

    left_h: np.ndarray
    reason: np.ndarray
    after_first_dose: np.ndarray

    def observed(self, times_h) -> np.ndarray:
        """(patients, times): whether each patient is observed at each time (at or before leaving)."""
        return np.asarray(times_h, float)[None, :] <= self.left_h[:, None]

    @property
    def left(self) -> np.ndarray:
        return np.isfinite(self.left_h)


def nobody_leaves(n: int) -> Dropout:
    return Dropout(np.full(n, np.inf), np.full(n, "", dtype=object), np.zeros(n, bool))


def lack_of_efficacy(baseline, scores, response: float) -> np.ndarray:
    """``e`` of each patient at each visit: ``clip(1 + change / (response * baseline), 0, 1)``; 0 where the
    baseline is 0 (no room to improve) or the score is not rated (NaN)."""
    b = np.asarray(baseline, float)[:, None]
    s = np.asarray(scores, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.clip(1.0 + (s - b) / (response * b), 0.0, 1.0)
    return np.where((b > 0) & np.isfinite(e), e, 0.0)


def adverse_severity(readouts: dict) -> np.ndarray:
    """``a`` of each patient at each saved time: the worse of CADSS / :data:`CADSS_FULL` and the SBP rise above
    time 0 / :data:`SBP_RISE_FULL`, within [0, 1]."""
    sbp = np.asarray(readouts["sbp"], float)
    a = np.maximum(np.asarray(readouts["cadss"], float) / CADSS_FULL, (sbp - sbp[:, :1]) / SBP_RISE_FULL)
    return np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0)


def draw_dropout(
    spec: DropoutSpec,
    u: np.ndarray,
    *,
    visits_h,
    lack: np.ndarray,
    times_h,
    adverse: np.ndarray,
    first_end_h: float,
    end_h: float,
) -> Dropout:
    """Draw who leaves and when (the model in the module docstring).

    ``u`` (n, 3) uniform draws (:func:`~neuroplast.cohort.dropout_draws`); ``visits_h`` (K,) the rated visits
    and ``lack`` (n, K) each patient's ``e`` there; ``times_h`` (T,) saved times and ``adverse`` (n, T) ``a``
    there; ``first_end_h`` when the first dose or session ends (0 without any); ``end_h`` the end of the run.
    """
    n = u.shape[0]
    out = nobody_leaves(n)
    left_h, reason, first = out.left_h.copy(), out.reason.copy(), out.after_first_dose.copy()
    visits_h = np.asarray(visits_h, float)
    times_h = np.asarray(times_h, float)
    worst = np.maximum.accumulate(adverse, axis=1) if adverse.size else np.zeros((n, 0))

    def ae_at(t: float) -> np.ndarray:
        k = int(np.searchsorted(times_h, t + 1e-9, side="right")) - 1
        return worst[:, k] if k >= 0 else np.zeros(n)

    def eff_at(t: float) -> np.ndarray:
        k = np.flatnonzero((visits_h > 0) & (visits_h <= t + 1e-9))  # a visit at 0 h is the baseline
        return lack[:, k[np.argmax(visits_h[k])]] if k.size else np.zeros(n)

    inf = spec.informative
    s0 = first_end_h + OBSERVATION_H if first_end_h > 0 else 0.0
    if spec.after_first_dose > 0:
        a0 = ae_at(s0)
        m0 = 1.0 + inf * K_AE * a0
        p = 1.0 - (1.0 - spec.after_first_dose) ** m0
        go = u[:, 0] < p
        left_h[go], first[go] = s0, True
        reason[go] = _reason(u[go, 2], np.zeros(int(go.sum())), inf * K_AE * a0[go])
    lam0 = -math.log1p(-spec.per_week) / HOURS_PER_WEEK
    if lam0 > 0 and end_h > s0:
        bounds = np.unique(np.concatenate([[s0], visits_h[(visits_h > s0) & (visits_h < end_h)], [end_h]]))
        starts, widths = bounds[:-1], np.diff(bounds)
        eff = np.column_stack([inf * K_EFFICACY * eff_at(s) for s in starts])
        ae = np.column_stack([inf * K_AE * ae_at(s) for s in starts])
        rate = lam0 * (1.0 + eff + ae)  # (n, segments), per hour
        cum = np.cumsum(rate * widths, axis=1)
        target = -np.log1p(-u[:, 1])  # a standard exponential
        stay = ~first
        hit = stay & (cum[:, -1] >= target)
        k = np.argmax(cum >= target[:, None], axis=1)  # the segment where the cumulative hazard reaches it
        rows = np.flatnonzero(hit)
        ks = k[rows]
        before = np.where(ks > 0, cum[rows, ks - 1], 0.0)
        left_h[rows] = starts[ks] + (target[rows] - before) / rate[rows, ks]
        reason[rows] = _reason(u[rows, 2], eff[rows, ks], ae[rows, ks])
    return Dropout(left_h, reason, first)


def _reason(u: np.ndarray, eff: np.ndarray, ae: np.ndarray) -> np.ndarray:
    """A reason per patient, drawn in proportion to the terms ``1`` (other), ``eff`` and ``ae`` of the
    multiplier."""
    total = 1.0 + eff + ae
    out = np.full(u.shape, "other", dtype=object)
    out[u < (eff + ae) / total] = "lack of efficacy"
    out[u < ae / total] = "adverse event"
    return out


def reason_counts(dropout: Dropout, ok: np.ndarray) -> dict[str, int]:
    """Patients who left, by reason (every reason of :data:`REASONS`, in that order), among ``ok``."""
    return {r: int(np.sum(ok & (dropout.reason == r))) for r in REASONS}


__all__ = [
    "CADSS_FULL",
    "K_AE",
    "K_EFFICACY",
    "OBSERVATION_H",
    "REASONS",
    "SBP_RISE_FULL",
    "Dropout",
    "adverse_severity",
    "draw_dropout",
    "lack_of_efficacy",
    "nobody_leaves",
    "reason_counts",
]
