"""The posterior over one patient's latent parameters given the scores: MAP + Laplace, or NUTS.

Likelihood: each observed total ``y_i`` on instrument ``I_i`` at time ``t_i`` is normal around the
crosswalked true score ``x_I(madrs_true(t_i; z))`` with the instrument's rating error plus the
rounding of integer totals (:func:`patient.noise_sd`). Prior: ``z ~ N(0, I)`` (the population prior
of each latent, :mod:`patient`).

* :func:`fit_laplace`: Levenberg–Marquardt on the stacked residuals ``[(y - x)/sd; z]`` with
  forward-mode Jacobians through the ODE solve (five tangents), then the Gauss–Newton Laplace
  approximation ``cov = (JᵀJ)⁻¹`` at the mode. A ``lax.while_loop`` of at most ``iters`` steps that stops once
  a step moves the cost by < 1e-4, down or up (the mode within ~0.01 posterior SD, or the float32 cost's
  round-off there); it ``vmap``s over patients.
* :func:`fit_nuts`: NumPyro's NUTS kernel on Laplace-whitened coordinates (the Laplace covariance
  as mass matrix; warm-up adapts the step size), chains started from Laplace draws, reverse-mode
  gradients through the fixed-grid solve (cut after the last score). All chains, warm-up and
  sampling are one compiled function reused by later calls; pairs of chains run in lock-step on
  each of two threads (two cores). R-hat, effective sample sizes, divergences and the leapfrog
  steps used are returned and reported, never hidden.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .data import Observed, Solve
from .patient import PatientModel, noise_sd, score_on


def residuals(pm: PatientModel, z, obs: Observed, sv: Solve):
    """Standardised residuals of the observed scores (0 where masked) — the likelihood part."""
    madrs = pm.madrs(z, sv.ref, sv.events, sv.ts)
    pred = score_on(madrs[obs.idx], obs.codes)
    r = (obs.y - pred) / noise_sd(obs.codes)
    return jnp.where(obs.mask, r, 0.0)


def _stacked(pm, z, obs, sv):
    r = jnp.concatenate([residuals(pm, z, obs, sv), z])
    return r, r


def _lm(pm: PatientModel, z0, obs: Observed, sv: Solve, iters: int, tol_cost: float = 1e-4):
    jac = jax.jacfwd(lambda z: _stacked(pm, z, obs, sv), has_aux=True)

    def cost(r):
        c = jnp.sum(r**2)
        return jnp.where(jnp.isfinite(c), c, jnp.inf)

    J0, r0 = jac(z0)
    n = z0.shape[-1]

    def step(state):
        k, z, r, J, c, lam, _ = state
        H = J.T @ J
        g = J.T @ r
        dz = jnp.linalg.solve(H + lam * (jnp.diag(jnp.diag(H)) + jnp.eye(n)), -g)
        dz = jnp.clip(dz, -1.5, 1.5)  # at most 1.5 prior SDs per step: keeps the solver in a sane region
        Jn, rn = jac(z + dz)
        cn = cost(rn)
        ok = cn < c
        # stop once a step moves the cost (sum of squared standardised residuals, -2 log posterior) by < tol_cost,
        # down or up: near the mode a Gauss-Newton step lowers it by about the squared distance to the mode in
        # posterior SDs, so the mode is then within ~sqrt(1e-4) = 0.01 posterior SD; a step rejected by less than
        # that is the cost's float32 round-off at the mode (every further step would be rejected too)
        done = jnp.abs(c - cn) < tol_cost
        return (
            k + 1,
            jnp.where(ok, z + dz, z),
            jnp.where(ok, rn, r),
            jnp.where(ok, Jn, J),
            jnp.where(ok, cn, c),
            jnp.where(ok, lam / 3.0, lam * 4.0),
            done,
        )

    def going(state):
        return (state[0] < iters) & ~state[-1]

    init = (jnp.asarray(0), z0, r0, J0, cost(r0), jnp.asarray(1e-2), jnp.asarray(False))
    k, z, r, J, c, lam, _ = jax.lax.while_loop(going, step, init)
    H = J.T @ J
    cov = jnp.linalg.inv(H)
    return z, cov, c, jnp.linalg.norm(J.T @ r), k


@eqx.filter_jit
def _lm_jit(pm, z0, obs, sv, iters):
    return _lm(pm, z0, obs, sv, iters)


@eqx.filter_jit
def _lm_batch(pm, z0, obs, sv, iters):
    """MAP + Laplace for a batch of patients sharing covariates (leading axis on z0, obs, sv)."""
    return jax.vmap(lambda z, o, s: _lm(pm, z, o, s, iters))(z0, obs, sv)


@dataclasses.dataclass(frozen=True)
class Posterior:
    """Draws of the latent vector and how they were obtained."""

    method: str  # "laplace" | "nuts"
    draws: np.ndarray  # (S, n_latent) standard-normal latent z
    mode: np.ndarray  # (n_latent,) MAP
    cov: np.ndarray  # (n_latent, n_latent) Laplace covariance
    diagnostics: dict


def initial_z(pm: PatientModel, obs: Observed) -> jnp.ndarray:
    """Start at the prior mean, with baseline severity read from the first score (crosswalked to MADRS)."""
    from ..scales.symptoms import crosswalk

    z = jnp.zeros(pm.n_latent)
    for j, lat in enumerate(pm.latents):
        if lat.kind == "normal" and lat.column == "baseline_madrs_true":
            first = crosswalk.to_madrs(float(obs.y[0]), crosswalk.INSTRUMENTS[int(obs.codes[0])])
            z = z.at[j].set(np.clip((first - lat.mean) / lat.sd, -3.0, 3.0))
    return z


def fit_laplace(
    pm: PatientModel, obs: Observed, sv: Solve, *, n_draws: int = 200, seed: int = 0, iters: int = 30
) -> Posterior:
    z, cov, c, gnorm, k = _lm_jit(pm, initial_z(pm, obs), obs, sv, iters)
    z, cov = np.asarray(z), np.asarray(cov)
    cov = 0.5 * (cov + cov.T)
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(z, cov, size=n_draws, method="cholesky")
    n_obs = int(np.sum(np.asarray(obs.mask)))
    diag = {
        "method": "MAP + Laplace (Gauss-Newton)",
        "objective": float(c),
        "gradient_norm": float(gnorm),
        "converged": bool(np.isfinite(c) and gnorm < 1e-3 * max(1.0, float(c))),
        "n_observations": n_obs,
        "iterations": int(k),
        "max_iterations": iters,
    }
    return Posterior("laplace", draws, z, cov, diag)


def _trimmed(obs: Observed, sv: Solve) -> Solve:
    """The solve cut after the last observed grid point (rounded up to 64 points, so few shapes compile):
    the residuals read the MADRS only at ``obs.idx``, so this is exact and spares the steps beyond it."""
    m = min(int(sv.ts.shape[0]), -(-(int(np.max(np.asarray(obs.idx))) + 1) // 64) * 64)
    return Solve(sv.ts[:m], sv.ref[:m], sv.events)


def _potential(pm: PatientModel, obs: Observed, sv: Solve, mode, chol):
    """Potential energy (−log posterior, up to a constant) in whitened coordinates ``w``: ``z = mode + chol @ w``.

    A fixed linear change of variables (constant Jacobian): NUTS on ``w`` with an identity mass matrix is NUTS
    on ``z`` with the Laplace covariance as its (inverse) mass matrix — the same posterior, sampled exactly."""

    def u(w):
        z = mode + chol @ w
        r = residuals(pm, z, obs, sv)
        e = 0.5 * jnp.sum(r**2) + 0.5 * jnp.sum(z**2)
        return jnp.where(jnp.isfinite(e), e, 1e10)

    return u


@eqx.filter_jit
def _nuts_chains(
    pm,
    obs,
    sv,
    mode,
    chol,
    w0,
    keys,
    num_warmup,
    num_samples,
    max_tree_depth,
    target_accept_prob,
    adapt_mass_matrix,
    forward_mode,
    vectorized,
):
    """All chains, warm-up and sampling in ONE compiled function (NumPyro's NUTS kernel, ``numpyro.infer.hmc``).

    Everything patient-specific is an argument, so a later patient with the same shapes and model structure
    reuses the compiled sampler (NumPyro's ``MCMC`` recompiles for every new model closure)."""
    from numpyro.infer.hmc import hmc

    init_kernel, sample_kernel = hmc(potential_fn_gen=_potential, algo="NUTS")
    args = (pm, obs, sv, mode, chol)

    def chain(w_init, key):
        state = init_kernel(
            w_init,
            num_warmup,
            step_size=1.0,
            adapt_step_size=True,
            adapt_mass_matrix=adapt_mass_matrix,
            dense_mass=True,
            target_accept_prob=target_accept_prob,
            max_tree_depth=max_tree_depth,
            forward_mode_differentiation=forward_mode,
            model_args=args,
            rng_key=key,
        )

        def body(st, _):
            st = sample_kernel(st, model_args=args)
            return st, (st.z, st.diverging, st.num_steps, st.adapt_state.step_size)

        _, out = jax.lax.scan(body, state, None, length=num_warmup + num_samples)
        return out

    if vectorized:  # chains in lock-step: each iteration costs the longer of the chains' trajectories
        return jax.vmap(chain)(w0, keys)
    return jax.lax.map(lambda a: chain(*a), (w0, keys))  # one after the other, each its own length


def fit_nuts(
    pm: PatientModel,
    obs: Observed,
    sv: Solve,
    *,
    num_warmup: int = 50,
    num_samples: int = 25,
    num_chains: int = 8,
    seed: int = 0,
    max_tree_depth: int = 4,
    n_draws: int = 200,
    laplace: Posterior | None = None,
    target_accept_prob: float = 0.8,
    adapt_mass_matrix: bool = False,
    chain_method: str = "vectorized",
    forward_mode: bool = False,
    threads: int = 2,
) -> Posterior:
    """Full Bayesian posterior by NUTS, started from (and preconditioned by) the Laplace approximation.

    NUTS runs on whitened coordinates ``w`` (``z = mode + chol(cov_Laplace) w``), i.e. with the Laplace
    covariance as the mass matrix; warm-up adapts the step size (and the mass matrix only if
    ``adapt_mass_matrix``). Chains start from Laplace draws. R-hat, effective sample sizes (on ``z``),
    divergences and the leapfrog steps used are returned, and warnings raised, never hidden.

    Defaults (< 60 s per patient on 2 cores; measurements in ``benchmarks/README.md``): a
    gradient costs ~65 ms (a ~900-step scan; its cost is per loop step, nearly independent of how many
    chains are batched), so chains are cheap and iterations dear: 8 chains, 4 in lock-step on each of
    ``threads`` threads, 50 warm-up + 25 draws each (200 draws), tree depth ≤ 4, target acceptance 0.8.
    Warm-up 40 with depth 3 gave R-hat 1.48 and ESS 5 on the example; keep warm-up ≥ 50.
    """
    from numpyro.diagnostics import summary

    if chain_method not in ("sequential", "vectorized"):
        raise ValueError(f"chain_method must be 'sequential' or 'vectorized', not {chain_method!r}")
    lap = laplace or fit_laplace(pm, obs, sv, n_draws=8, seed=seed)
    n = pm.n_latent
    cov = 0.5 * (np.asarray(lap.cov) + np.asarray(lap.cov).T)
    chol = np.linalg.cholesky(cov)
    mode = np.asarray(lap.mode)
    rng = np.random.default_rng(seed + 1)
    w0 = rng.standard_normal((num_chains, n))  # = draws from the Laplace approximation, whitened
    keys = jax.random.split(jax.random.PRNGKey(seed), num_chains)
    sv_t = _trimmed(obs, sv)

    def run(group):
        out = _nuts_chains(
            pm,
            obs,
            sv_t,
            jnp.asarray(mode),
            jnp.asarray(chol),
            jnp.asarray(w0[group]),
            keys[group],
            int(num_warmup),
            int(num_samples),
            int(max_tree_depth),
            float(target_accept_prob),
            bool(adapt_mass_matrix),
            bool(forward_mode),
            chain_method == "vectorized",
        )
        return jax.block_until_ready(out)

    # the compiled sampler runs single-threaded and releases the GIL: groups of chains on their own threads run
    # on separate cores (equal groups share one compiled function)
    groups = np.array_split(np.arange(num_chains), max(1, min(threads, num_chains)))
    if len(groups) == 1:
        parts = [run(groups[0])]
    else:
        with ThreadPoolExecutor(len(groups)) as ex:
            parts = list(ex.map(run, groups))
    w, div, steps, eps = (np.concatenate([np.asarray(p[i]) for p in parts]) for i in range(4))
    w = w[:, num_warmup:]
    samples = mode + w @ chol.T  # (chains, S, n) latent z
    div = int(np.sum(np.asarray(div)[:, num_warmup:]))
    steps = np.asarray(steps)
    s = summary({"z": samples}, prob=0.9, group_by_chain=True)["z"]
    r_hat = np.asarray(s["r_hat"])
    n_eff = np.asarray(s["n_eff"])
    flat = samples.reshape(-1, n)
    idx = np.linspace(0, flat.shape[0] - 1, min(n_draws, flat.shape[0])).round().astype(int)
    warnings = []
    if np.nanmax(r_hat) > 1.05:
        warnings.append(f"R-hat up to {np.nanmax(r_hat):.3f} (> 1.05): the chains disagree; treat the bands with care")
    if div:
        warnings.append(f"{div} divergent transitions: the sampler may have missed part of the posterior")
    if np.nanmin(n_eff) < 50:
        warnings.append(f"effective sample size as low as {np.nanmin(n_eff):.0f}")
    diag = {
        "method": "NUTS (NumPyro), Laplace-preconditioned",
        "chains": num_chains,
        "warmup": num_warmup,
        "samples_per_chain": num_samples,
        "max_tree_depth": max_tree_depth,
        "chain_method": chain_method,
        "threads": len(groups),
        "r_hat": {lat.name: float(v) for lat, v in zip(pm.latents, r_hat)},
        "n_eff": {lat.name: float(v) for lat, v in zip(pm.latents, n_eff)},
        "r_hat_max": float(np.nanmax(r_hat)),
        "n_eff_min": float(np.nanmin(n_eff)),
        "divergences": div,
        "step_size": [float(x) for x in np.asarray(eps)[:, -1]],
        "leapfrog_steps": {"warmup": int(steps[:, :num_warmup].sum()), "sampling": int(steps[:, num_warmup:].sum())},
        "warnings": warnings,
        "n_observations": int(np.sum(np.asarray(obs.mask))),
    }
    return Posterior("nuts", flat[idx], lap.mode, np.cov(flat.T), diag)


__all__ = ["Posterior", "fit_laplace", "fit_nuts", "initial_z", "residuals"]
