"""Posterior predictive trajectories: score bands, relapse, and how well a plan keeps a target.

Every posterior draw of the latent vector is one version of the patient; each is simulated under a
plan with the library's model (``vmap`` over draws, one compiled function per shape).

* Bands (``p05 … p95``) are for the score the clinic will *measure*: the draw's true score on the
  instrument plus rating error (:func:`patient.noise_sd`), ``n_noise`` noise draws per posterior draw.
* Relapse and targets use the *true* (noise-free) score: the patient's state, not one rating.
  Relapse (the clinic definition, not the trial's loss of response): the first daily check on which
  the true score is at or above the target threshold, for a draw that is below it now.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..scales.symptoms import crosswalk
from .data import Solve
from .patient import PatientModel


@eqx.filter_jit
def _madrs_batch(pm: PatientModel, Z, sv: Solve):
    return jax.vmap(lambda z: pm.madrs(z, sv.ref, sv.events, sv.ts))(Z)


def simulate_draws(pm: PatientModel, Z: np.ndarray, sv: Solve, idx: np.ndarray) -> np.ndarray:
    """True MADRS (S, len(idx)) of each draw at the grid points ``idx`` of the solve."""
    return np.asarray(_madrs_batch(pm, jnp.asarray(Z), sv))[:, np.asarray(idx)]


def bands(true_scores: np.ndarray, instrument: str, *, n_noise: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """Quantiles of the measured score: (S, T) true scores plus rating error, clipped to the scale."""
    rng = np.random.default_rng(seed)
    sd = float(np.sqrt(crosswalk.NOISE_SD[instrument] ** 2 + 1.0 / 12.0))
    lo, hi = crosswalk.RANGES[instrument]
    x = true_scores[None] + rng.normal(0.0, sd, (n_noise, *true_scores.shape))
    x = np.clip(x, lo, hi).reshape(-1, true_scores.shape[-1])
    ok = np.all(np.isfinite(x), axis=1)
    q = np.quantile(x[ok], [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    return dict(zip(("p05", "p25", "median", "p75", "p95"), q))


@dataclasses.dataclass(frozen=True)
class Target:
    instrument: str
    threshold: float  # keep the score strictly below this
    probability: float  # with at least this probability

    def label(self) -> str:
        return f"{self.instrument}<{self.threshold:g}"


def relapse(true_daily: np.ndarray, target: Target) -> dict:
    """Relapse over the horizon from (S, D) true scores at daily checks (column 0 = now).

    ``probability``: share of the draws below the threshold now that reach it within the horizon;
    ``median_day``: days from now by which half of them have (None if fewer than half do).
    """
    ok = np.all(np.isfinite(true_daily), axis=1)
    x = true_daily[ok]
    below_now = x[:, 0] < target.threshold
    out = {
        "probability_below_threshold_now": float(below_now.mean()) if x.size else None,
        "probability": None,
        "median_day": None,
        "n_draws": int(ok.sum()),
    }
    if not below_now.any():
        return out
    xs = x[below_now]
    crossed = xs[:, 1:] >= target.threshold
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1) + 1, np.inf)
    out["probability"] = float(np.isfinite(first).mean())
    med = float(np.quantile(first, 0.5, method="inverted_cdf"))
    out["median_day"] = med if np.isfinite(med) else None
    return out


def target_met(true_daily: np.ndarray, target: Target, window: slice) -> tuple[float, np.ndarray]:
    """Share of draws whose true score stays below the threshold on every daily check of ``window``,
    and each draw's first violating day index (inf if none)."""
    ok = np.all(np.isfinite(true_daily), axis=1)
    x = true_daily[:, window]
    viol = (x >= target.threshold) | ~ok[:, None]
    start = window.start or 0
    first = np.where(viol.any(axis=1), viol.argmax(axis=1) + start, np.inf)
    return float(np.mean(~np.isfinite(first))), first


__all__ = ["Target", "bands", "relapse", "simulate_draws", "target_met"]
