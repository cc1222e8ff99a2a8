"""Forecast speed per patient (after compilation) and forecast error vs number of scores.

    uv run python benchmarks/forecast_speed.py [--json results.json] [--quick]

Measures, on the shipped example history (13 scores, 7 infusions), each step warm (median of 3 after
one compiling run): MAP + Laplace fit; the forecast under the current plan (200 draws, bands and
relapse); the whole ``forecast()`` with booster-plan search; the NUTS posterior (2 chains x
(100 warmup + 150 draws)). Then, on virtual patients (``neuroplast.forecast.validation``), the 50/90%
band coverage and the median's absolute error as the history grows from 4 to 10 scores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

import neuroplast as npl
from neuroplast.forecast import data as fdata
from neuroplast.forecast.patient import PatientModel, patient_cohort
from neuroplast.forecast.posterior import fit_laplace, fit_nuts
from neuroplast.forecast.predict import bands, simulate_draws
from neuroplast.forecast.run import forecast, parse_target
from neuroplast.forecast.validation import coverage_study
from neuroplast.io.history import read_history

EX = Path(__file__).parents[1] / "examples" / "patient_history.csv"
NOW = dt.datetime(2026, 10, 24, 12, tzinfo=dt.UTC)


def timed(fn, reps=3, cold: dict | None = None, key: str = ""):
    t = time.perf_counter()
    fn()  # compile
    if cold is not None:
        cold[key] = time.perf_counter() - t
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def _nuts_old_settings(pm, obs, sv, lap, seed=0):
    """NUTS as shipped before the speed work (for side-by-side timing): NumPyro ``MCMC`` on ``z`` with a new
    model closure per call (so it recompiles every call), 2 chains vectorised x (100 warm-up + 150 draws),
    dense mass started from the Laplace covariance and adapted, target acceptance 0.85, tree depth 5."""
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.diagnostics import summary
    from numpyro.infer import MCMC, NUTS

    from neuroplast.forecast.posterior import residuals

    n = pm.n_latent

    def model():
        z = numpyro.sample("z", dist.Normal(jnp.zeros(n), 1.0).to_event(1))
        r = residuals(pm, z, obs, sv)
        ll = -0.5 * jnp.sum(r**2)
        numpyro.factor("scores", jnp.where(jnp.isfinite(ll), ll, -1e10))

    cov = 0.5 * (np.asarray(lap.cov) + np.asarray(lap.cov).T)
    kernel = NUTS(
        model, dense_mass=True, inverse_mass_matrix=jnp.asarray(cov), max_tree_depth=5, target_accept_prob=0.85
    )
    mcmc = MCMC(kernel, num_warmup=100, num_samples=150, num_chains=2, chain_method="vectorized", progress_bar=False)
    init = np.random.default_rng(seed + 1).multivariate_normal(lap.mode, cov, size=2, method="cholesky")
    mcmc.run(jax.random.PRNGKey(seed), init_params={"z": jnp.asarray(init)}, extra_fields=("diverging", "num_steps"))
    samples = np.asarray(mcmc.get_samples(group_by_chain=True)["z"])
    ex = mcmc.get_extra_fields(group_by_chain=True)
    s = summary({"z": samples}, prob=0.9, group_by_chain=True)["z"]
    return {
        "r_hat_max": float(np.max(s["r_hat"])),
        "n_eff_min": float(np.min(s["n_eff"])),
        "divergences": int(np.sum(np.asarray(ex["diverging"]))),
        "leapfrog_steps_sampling": int(np.sum(np.asarray(ex["num_steps"]))),
        "mean": samples.reshape(-1, n).mean(0).tolist(),
        "sd": samples.reshape(-1, n).std(0).tolist(),
    }


def main():
    npl.engine.configure()  # as the CLI does: float64, XLA's CPU options, the allocator
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=Path)
    ap.add_argument("--quick", action="store_true", help="skip NUTS and use fewer virtual patients")
    ap.add_argument("--speed-only", action="store_true", help="skip the virtual-patient coverage study")
    ap.add_argument("--nuts-reps", type=int, default=3, help="warm NUTS runs (median reported)")
    ap.add_argument(
        "--nuts-old",
        action="store_true",
        help="also time the NUTS settings before the speed work (2 runs of ~3 min), same patient",
    )
    a = ap.parse_args()
    model = npl.default_model()
    h = read_history(EX, now=NOW)
    coh = patient_cohort(model.values, weight_kg=h.weight_kg, female=h.female, age_y=h.age_y)
    res = {"cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0]}

    def setup():
        """Per patient: the patient model and ONE reference solve for the fit and the forecast (as forecast())."""
        pm = PatientModel.build(model.values, model.cvs, coh)
        tl = fdata.timeline(h)
        oh = fdata.observation_hours(tl, h)
        end = tl.hours(NOW) + 8 * 7 * 24.0
        daily = tl.hours(NOW) + 24.0 * np.arange(57)
        (sv, idx), (sv2, idx2) = fdata.prepare_shared(
            model, coh, tl, h.doses, h.weight_kg, [(float(oh[-1]) + 1e-3, oh), (end, daily)], max_h=pm.stable_step_h()
        )
        return pm, tl, oh, sv, fdata.observed(h, idx), sv2, idx2

    pm, tl, oh, sv, obs, sv2, idx2 = setup()
    res["setup_s"] = timed(setup)
    res["laplace_fit_s"] = timed(lambda: fit_laplace(pm, obs, sv))
    post = fit_laplace(pm, obs, sv)
    res["laplace_diagnostics"] = post.diagnostics

    def fc():
        return bands(simulate_draws(pm, post.draws, sv2, idx2), "MADRS")

    res["forecast_bands_s"] = timed(fc)
    res["laplace_forecast_total_s"] = res["setup_s"] + res["laplace_fit_s"] + res["forecast_bands_s"]
    res["forecast_with_plan_search_s"] = timed(
        lambda: forecast(h, weeks=8, target=parse_target("PHQ9<10"), now=NOW), reps=1
    )
    if not a.quick:
        runs = []

        def nuts():
            runs.append(fit_nuts(pm, obs, sv, laplace=post).diagnostics)

        res["nuts_s"] = timed(nuts, reps=a.nuts_reps, cold=res, key="nuts_first_call_s")
        res["nuts_diagnostics"] = runs[-1]
        if a.nuts_old:
            old = []
            res["nuts_old_settings_s"] = timed(lambda: old.append(_nuts_old_settings(pm, obs, sv, post)), reps=1)
            res["nuts_old_settings_diagnostics"] = old[-1]
    n = 12 if a.quick else 40
    # the same 4 weekly visits (days 35-56) for every history length
    res["by_n_scores"] = (
        []
        if a.speed_only
        else [
            coverage_study(model, n_patients=n, n_scores=k, n_future=4, n_draws=100, seed=7, future_start=10)
            for k in (4, 7, 10)
        ]
    )
    print(json.dumps(res, indent=1, default=float))
    if a.json:
        a.json.write_text(json.dumps(res, indent=1, default=float))


if __name__ == "__main__":
    main()
