"""Honest uncertainty, checked on virtual patients drawn from the model with known parameters.

Each virtual patient gets latents ``z ~ N(0, I)`` (the prior), a standard ketamine course (six
0.5 mg/kg infusions over 12 days) and PHQ-9 visits; scores are the true PHQ-9 plus rating error,
rounded into the scale — the same generative model the posterior assumes. The first ``n_scores``
visits are the history; the forecast (MAP + Laplace, no further doses) is compared with the later
weekly visits: how often the 50% and 90% bands hold the new score, and the median's absolute error.
"""

from __future__ import annotations

import datetime as dt

import jax
import jax.numpy as jnp
import numpy as np

from ..io.history import DoseRecord, Observation, PatientHistory
from ..scales.symptoms import crosswalk
from . import data as fdata
from .patient import PatientModel, noise_sd, patient_cohort
from .posterior import _lm, initial_z
from .predict import bands

START = dt.datetime(2026, 1, 5, 8, 30, tzinfo=dt.UTC)  # a Monday
DOSE_DAYS = (0, 2, 4, 7, 9, 11)
VISIT_DAYS = (0, 1, 2, 4, 7, 9, 11, 14, 21, 28, 35, 42, 49, 56, 63, 70)


def _doses():
    return [
        DoseRecord(START + dt.timedelta(days=d, minutes=30), "ketamine", "iv", "0.5 mg/kg", "40 min", f"dose {i}")
        for i, d in enumerate(DOSE_DAYS)
    ]


def _visits():
    return [START + dt.timedelta(days=d) for d in VISIT_DAYS]


def _setup(model, weight_kg=80.0, female=False):
    coh = patient_cohort(model.values, weight_kg=weight_kg, female=female, age_y=45.0)
    pm = PatientModel.build(model.values, model.cvs, coh)
    hist0 = PatientHistory(
        tuple(Observation(t, "PHQ9", 0.0, "v") for t in _visits()), tuple(_doses()), weight_kg, female, 45.0
    )
    tl = fdata.timeline(hist0)
    return coh, pm, tl


def _true_phq(pm, sv, idx, Z):
    f = jax.jit(jax.vmap(lambda z: pm.madrs(z, sv.ref, sv.events, sv.ts)))
    return crosswalk.from_madrs(np.asarray(f(jnp.asarray(Z)))[:, idx], "PHQ9")


def _observe(true, rng):
    sd = crosswalk.NOISE_SD["PHQ9"]
    return np.clip(np.round(true + rng.normal(0.0, sd, true.shape)), 0, 27)


def virtual_history(pm: PatientModel, model, cohort, z_true, *, n_scores: int, seed: int = 0) -> PatientHistory:
    """One virtual patient's history: the first ``n_scores`` PHQ-9 visits and the infusions before the last."""
    hist0 = PatientHistory(
        tuple(Observation(t, "PHQ9", 0.0, "v") for t in _visits()), tuple(_doses()), 80.0, False, 45.0
    )
    tl = fdata.timeline(hist0)
    hours = np.array([tl.hours(t) for t in _visits()])
    sv, idx = fdata.prepare(model, cohort, tl, _doses(), 80.0, float(hours[-1]), hours, max_h=pm.stable_step_h())
    y = _observe(_true_phq(pm, sv, idx, np.asarray(z_true)[None])[0], np.random.default_rng(seed))
    visits = _visits()[:n_scores]
    obs = tuple(Observation(t, "PHQ9", float(s), f"visit {i}") for i, (t, s) in enumerate(zip(visits, y)))
    doses = tuple(d for d in _doses() if d.time <= visits[-1])
    return PatientHistory(obs, doses, 80.0, False, 45.0)


def coverage_study(
    model,
    *,
    n_patients: int = 40,
    n_scores: int = 10,
    n_future: int = 4,
    n_draws: int = 100,
    seed: int = 0,
    iters: int = 30,
    future_start: int | None = None,
) -> dict:
    """Coverage of the 50% / 90% forecast bands and the median's error on ``n_patients`` virtual patients.

    The forecast is scored on the ``n_future`` visits from index ``future_start`` (default: the visit
    after the history); fix ``future_start`` to compare histories of different length on the same visits.
    """
    coh, pm, tl = _setup(model)
    rng = np.random.default_rng(seed)
    hours = np.array([tl.hours(t) for t in _visits()])
    first = n_scores if future_start is None else max(future_start, n_scores)
    future = np.arange(first, min(first + n_future, hours.size))
    doses = [d for d in _doses() if tl.hours(d.time) <= hours[n_scores - 1]]
    max_h = pm.stable_step_h()
    sv_all, idx_all = fdata.prepare(model, coh, tl, _doses(), 80.0, float(hours[-1]), hours, max_h=max_h)
    Z = rng.normal(size=(n_patients, pm.n_latent))
    y = _observe(_true_phq(pm, sv_all, idx_all, Z), rng)  # (P, visits) — all infusions precede the history's end
    sv_fit, idx_fit = fdata.prepare(
        model, coh, tl, doses, 80.0, float(hours[n_scores - 1]) + 1e-3, hours[:n_scores], max_h=max_h
    )
    obs = [
        fdata.observed(
            PatientHistory(
                tuple(Observation(t, "PHQ9", float(s), "v") for t, s in zip(_visits()[:n_scores], y[p, :n_scores])),
                tuple(doses),
                80.0,
                False,
                45.0,
            ),
            idx_fit,
        )
        for p in range(n_patients)
    ]
    batch = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *obs)
    z0 = jnp.stack([initial_z(pm, o) for o in obs])
    fit = jax.jit(jax.vmap(lambda z, o: _lm(pm, z, o, sv_fit, iters)))
    modes, covs, *_ = (np.asarray(x) for x in fit(z0, batch))
    draws = np.stack(
        [rng.multivariate_normal(m, 0.5 * (c + c.T), size=n_draws, method="cholesky") for m, c in zip(modes, covs)]
    )
    true_draws = _true_phq(pm, sv_all, idx_all[future], draws.reshape(-1, pm.n_latent)).reshape(n_patients, n_draws, -1)
    in50 = in90 = 0
    err = []
    for p in range(n_patients):
        b = bands(true_draws[p], "PHQ9", seed=seed + p)
        truth = y[p, future]
        in50 += np.sum((truth >= b["p25"]) & (truth <= b["p75"]))
        in90 += np.sum((truth >= b["p05"]) & (truth <= b["p95"]))
        err.append(np.abs(truth - b["median"]))
    n = n_patients * future.size
    return {
        "coverage_50": in50 / n,
        "coverage_90": in90 / n,
        "mae_median": float(np.mean(err)),
        "n_points": int(n),
        "n_patients": n_patients,
        "n_scores": n_scores,
        "z_error_rms": float(np.sqrt(np.mean((modes - Z) ** 2))),
        "noise_sd": float(noise_sd(jnp.asarray(crosswalk.code("PHQ9")))),
    }


__all__ = ["coverage_study", "virtual_history"]
