"""A fixed-grid integrator for part of the state: classic RK4, differentiable in reverse and forward mode.

Used where the rest of the state is already known on the grid from a reference solve (the individual forecast:
the states no latent parameter moves come from one adaptive solve, the others are integrated here for every
posterior draw, ``neuroplast.forecast.patient``). Fixed shapes and ``lax.scan``: ``vmap``-able over draws, cheap to
differentiate, no step-size control (the caller chooses a stable grid).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def rk4_partial(f: Callable, y0, ts, ref):
    """Integrate ``y' = f(t, y, yref)`` over the grid ``ts`` (T,) from ``y0`` by RK4, where ``yref`` is the rest of
    the state, known at the grid points as ``ref`` (T, n) and taken at the midpoint average inside a step. The last
    stage is the left limit at the step's end (an input switching off there is still on). Returns (T, len(y0)),
    ``y0`` first."""

    def step(y, k):
        t, h, a, b = ts[k], ts[k + 1] - ts[k], ref[k], ref[k + 1]
        mid = 0.5 * (a + b)
        k1 = f(t, y, a)
        k2 = f(t + 0.5 * h, y + 0.5 * h * k1, mid)
        k3 = f(t + 0.5 * h, y + 0.5 * h * k2, mid)
        k4 = f(t + h * (1.0 - 1e-9), y + h * k3, b)
        yn = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return yn, yn

    _, ys = jax.lax.scan(step, y0, jnp.arange(ts.shape[0] - 1))
    return jnp.concatenate([y0[None], ys])
