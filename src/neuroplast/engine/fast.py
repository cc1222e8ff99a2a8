"""``Solver(method="fast")``: closed-form linear PK plus a stiff-safe Rosenbrock scheme on a fixed grid.

The model splits into a linear block with constant coefficients — the pharmacokinetic states,
fed by the dose inputs and fed back by nothing — and everything else (receptors → signalling →
synapses → mood, and whatever slow states the model has). The engine

1. reads the linear block's matrix ``A`` off :meth:`Model.vector_field` (``jax.jacfwd``) and its
   input ``b(t)`` as the same vector field's PK rows with the PK states set to zero, and propagates
   it exactly (matrix exponentials by doubling, quadratic quadrature of the input:
   :mod:`.linear`), once per patient per step class;
2. integrates every other state with Verwer's ROS2 (a two-stage, L-stable, second-order
   Rosenbrock-W method: one Jacobian of the non-PK block by ``jax.jacfwd`` and one LU factorisation
   per step), with its stages at the step's two ends, where the PK is known exactly;
3. runs on a precomputed grid (:mod:`.grid`) that is fine while a dose goes in and just after it
   and coarse elsewhere, with every discontinuity on a step boundary: ``jax.lax.scan`` over the
   grid, ``vmap`` over patients, fixed shapes (one compilation serves every cohort size), and no
   host callbacks, so JAX's persistent compilation cache stores the compiled kernel.

A fixed grid cannot run out of steps; a patient whose states turn non-finite is flagged
``non_finite``; a patient whose dose input lands on a PK row the grid was not built for (cannot
happen for a regimen's own drugs; a guard) is flagged ``solver_failed``.

Which states are the PK block is read from :mod:`neuroplast.model` (its PK slices) and checked
numerically on first use: the block's rows must be affine in the block's states alone, with the
same coefficients at every time and state.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._errors import PatientStatus
from ..cohort import Cohort, individualize
from .grid import Grid, build_grid
from .linear import GAUSS, propagators, substeps

GAMMA = 1.0 + 1.0 / math.sqrt(2.0)
"""ROS2's diagonal coefficient (L-stable choice; Verwer, Spee, Blom and Hundsdorfer 1999)."""


@dataclasses.dataclass(frozen=True)
class FastSettings:
    """The grid of the fast engine (hours). Defaults chosen by measurement: docs/scale.md."""

    fine_h: float = 2.0 / 60.0  # step while an input is on and just after it
    coarse_h: float = 4.0  # longest step
    growth: float = 0.1  # step grows by this fraction of the time since the last input ended


def pk_indices(n_states: int) -> np.ndarray:
    """Indices of the model's linear PK states (the slices :mod:`neuroplast.model` declares)."""
    from .. import model as model_module

    # _K: ketamine family, _M: midazolam, _R: SSRIs (model.py's state slices); checked by verify_pk_block
    slices = [getattr(model_module, n) for n in ("_K", "_M", "_R") if isinstance(getattr(model_module, n, None), slice)]
    if not slices:
        raise RuntimeError("neuroplast.model no longer declares its PK slices (_K, _M, _R): update neuroplast.engine")
    idx = sorted({i for sl in slices for i in range(n_states)[sl]})
    return np.asarray(idx, dtype=np.int64)


def _one(tree, i=0):
    return jax.tree_util.tree_map(lambda x: x[i], tree)


@jax.jit
def _check_linear_block(model, events, ts, ys):
    """Jacobians of the vector field at several (t, y): returned for the host-side check."""
    return jax.vmap(lambda t, y: jax.jacfwd(lambda yy: model.vector_field(t, yy, events))(y))(ts, ys)


def verify_pk_block(model1, events1, pk: np.ndarray, times: np.ndarray) -> None:
    """Raise if the PK rows are not affine in the PK states alone with constant coefficients."""
    n = model1.initial_state().shape[0]
    rng = np.random.default_rng(0)
    k = min(len(times), 6)
    ts = np.asarray(times)[np.linspace(0, len(times) - 1, k).astype(int)]
    y0 = np.asarray(model1.initial_state())
    ys = y0 + rng.uniform(0.0, 2.0, size=(k, n)) * (1.0 + np.abs(y0))
    jac = np.asarray(_check_linear_block(model1, events1, jnp.asarray(ts), jnp.asarray(ys)))
    rows = jac[:, pk, :]
    other = np.setdiff1d(np.arange(n), pk)
    scale = np.max(np.abs(rows)) + 1e-300
    if np.any(np.abs(rows[:, :, other]) > 1e-12 * scale) or np.any(np.abs(rows - rows[:1]) > 1e-9 * scale):
        raise RuntimeError("the fast solver needs the model's PK states (neuroplast.model slices) to form a linear "
                           "block with constant coefficients; they do not: use Solver(method='tsit5')")


def lu_factor(m):
    """LU factorisation with partial pivoting of a small matrix, unrolled (vmaps into a few fused loops;
    LAPACK's batched getrf on the CPU costs a call per patient)."""
    n = m.shape[0]
    perm = jnp.arange(n)
    for k in range(n - 1):
        p = k + jnp.argmax(jnp.abs(m[k:, k]))
        rows = jnp.arange(n).at[k].set(p).at[p].set(k)
        m, perm = m[rows], perm[rows]
        col = m[k + 1:, k] / m[k, k]
        m = m.at[k + 1:, k].set(col).at[k + 1:, k + 1:].add(-col[:, None] * m[k, k + 1:][None, :])
    return m, perm


def lu_solve(lu, b):
    """Solve with the factors of :func:`lu_factor` (forward and back substitution, unrolled)."""
    m, perm = lu
    n = m.shape[0]
    y = b[perm]
    for i in range(1, n):
        y = y.at[i].add(-jnp.sum(m[i, :i] * y[:i]))
    for i in range(n - 1, -1, -1):
        y = y.at[i].set((y[i] - jnp.sum(m[i, i + 1:] * y[i + 1:])) / m[i, i])
    return y


def _assemble(pk, pd, x, z):
    n = pk.size + pd.size
    return jnp.zeros(n, dtype=x.dtype).at[pk].set(x).at[pd].set(z)


def _solve_batch_impl(model, events, grid_arrays, cols, col_mask, base_h, delta, *, pk, pd, n_classes, n_sub):
    """Solve a batch. Per-patient tables and the PK state keep the patient axis LAST, so that the step
    class's propagator is one contiguous slice and the products fuse into loops over patients (a
    patient-first table was re-laid out on every step). The vector field is ``vmap``ped as usual."""
    t0s, hs, clss, save_row = grid_arrays
    dtype = base_h.dtype
    pk, pd = np.asarray(pk), np.asarray(pd)
    pk_j, pd_j = jnp.asarray(pk), jnp.asarray(pd)
    nodes = jnp.asarray(GAUSS, dtype=dtype)
    eye = jnp.eye(pd.size, dtype=dtype)
    outside = jnp.ones(pk.size, dtype).at[cols].set(0.0)  # PK rows the input is not expected on

    def y0_of(m):
        return m.initial_state().astype(dtype)

    def b_of(m, e, t):  # dose input of the PK rows: the PK rows with the PK states at zero
        return m.vector_field(t, y0_of(m).at[pk_j].set(0.0), e)[pk_j]

    def f_pd(m, e, t, x, z):
        return m.vector_field(t, _assemble(pk_j, pd_j, x, z), e)[pd_j]

    def tables(m, e):
        y0 = y0_of(m)
        a = jax.jacfwd(lambda x: m.vector_field(jnp.zeros((), dtype), _assemble(pk_j, pd_j, x, y0[pd_j]), e)[pk_j])(
            y0[pk_j])
        e_tab, w_tab = propagators(a, cols, base_h, n_classes, n_sub)
        return a, e_tab, w_tab

    a, e_tab, w_tab = jax.vmap(tables)(model, events)  # (B, n, n), (B, C, n, n), (B, C, 3, n, r)
    a = jnp.moveaxis(a, 0, -1)
    e_tab = jnp.moveaxis(e_tab, 0, -1)  # (C, n, n, B)
    w_tab = jnp.moveaxis(w_tab, 0, -1)  # (C, 3, n, r, B)

    def pd_step(m, e, x, x1, x_dot, z, ta, tb, h):
        """ROS2 (Verwer 1999) on the autonomised PD system (t a state): stages at the step's two ends."""
        f0, f_t = jax.jvp(lambda tt, xx: f_pd(m, e, tt, xx, z), (ta, x), (jnp.ones_like(ta), x_dot))
        jac = jax.jacfwd(lambda zz: f_pd(m, e, ta, x, zz))(z)
        lu = lu_factor(eye - (GAMMA * h) * jac)
        k1 = lu_solve(lu, f0 + (GAMMA * h) * f_t)
        k2 = lu_solve(lu, f_pd(m, e, tb, x1, z + h * k1) - 2.0 * k1 - (GAMMA * h) * f_t)
        return z + h * (1.5 * k1 + 0.5 * k2)

    # the dose input at every quadrature node and stage time of the grid, before the loop: one large
    # vectorised evaluation instead of many small gathers per step. Rows the grid was not built for
    # must stay empty (``leak``).
    times = jnp.concatenate([t0s[:, None] + nodes[None, :] * hs[:, None], (t0s + delta)[:, None]], axis=1)  # (N, 4)
    def b_split(m, e, t):  # (input rows, size of the input anywhere else)
        b = b_of(m, e, t)
        return b[cols] * col_mask, jnp.sum(jnp.abs(b) * outside)

    b_in, leak = jax.vmap(lambda m, e: jax.vmap(jax.vmap(lambda t: b_split(m, e, t)))(times))(model, events)
    b_in = jnp.moveaxis(b_in, 0, -1)  # (N, 4, r, B)
    leak = jnp.sum(leak, axis=(1, 2))
    in_rows = jnp.zeros((pk.size, cols.shape[0]), dtype).at[cols, jnp.arange(cols.shape[0])].set(col_mask)

    def step(carry, inp):
        x, z = carry  # (n_pk, B), (n_pd, B)
        t0, h, c, b = inp
        ta, tb = t0 + delta, t0 + h - delta
        # multiply-and-sum, not dot: under vmap a dot is one tiny GEMV call per patient on the CPU
        e_c = jax.lax.dynamic_index_in_dim(e_tab, c, 0, keepdims=False)
        w_c = jax.lax.dynamic_index_in_dim(w_tab, c, 0, keepdims=False)
        x1 = jnp.sum(e_c * x[None], axis=1) + jnp.sum(w_c * b[:3, None], axis=(0, 2))
        x_dot = jnp.sum(a * x[None], axis=1) + jnp.sum(in_rows[:, :, None] * b[3][None], axis=1)
        z1 = jax.vmap(pd_step, in_axes=(0, 0, 1, 1, 1, 1, None, None, None), out_axes=1)(
            model, events, x, x1, x_dot, z, ta, tb, h)
        return (x1, z1), jnp.concatenate([x1, z1])

    y0 = jax.vmap(y0_of)(model)  # (B, n)
    carry0 = (y0[:, pk_j].T, y0[:, pd_j].T)
    # the state after every step (scan stacks them in place; a save buffer in the carry was copied every step)
    _, y_steps = jax.lax.scan(step, carry0, (t0s, hs, clss, b_in))  # (N, n, B)
    order = np.argsort(np.concatenate([pk, pd]))  # back from [PK; PD] to the model's state order
    y_all = jnp.concatenate([jnp.concatenate([y0[:, pk_j], y0[:, pd_j]], axis=1).T[None], y_steps])
    ys = jnp.moveaxis(y_all[save_row][:, order], -1, 0)  # (B, T, n)
    finite = jnp.all(jnp.isfinite(ys), axis=(1, 2))
    status = jnp.where(finite, jnp.where(leak > 0, PatientStatus.solver_failed, PatientStatus.ok),
                       PatientStatus.non_finite)
    return ys, jax.vmap(lambda m, y: m.readouts(y))(model, ys), status


@eqx.filter_jit
def _solve_batch(model, events, grid_arrays, cols, col_mask, base_h, delta, pk, pd, n_classes, n_sub):
    return _solve_batch_impl(model, events, grid_arrays, cols, col_mask, base_h, delta, pk=pk, pd=pd,
                             n_classes=n_classes, n_sub=n_sub)


def _bucket(n: int, step: int) -> int:
    return max(step, -(-n // step) * step)


def plan(model, regimen, saveat, settings: FastSettings = FastSettings()) -> Grid:
    """The grid for ``regimen`` saved at ``saveat`` (needs the batched model for the session length)."""
    sess = np.unique(np.asarray(model.session_min_h, dtype=float).ravel())
    starts = np.array([d.time_h for d in regimen.doses], dtype=float)
    ends = np.array([d.time_h + d.duration_h for d in regimen.doses], dtype=float)
    session_ends = (starts[:, None] + sess[None, :]).ravel() if starts.size else np.zeros(0)
    return build_grid(saveat, starts, ends, session_ends, fine_h=settings.fine_h, coarse_h=settings.coarse_h,
                      growth=settings.growth)


def simulate_fast(model, regimen, cohort: Cohort, saveat, solver, progress: Callable[[int], None] | None = None,
                  settings: FastSettings = FastSettings()):
    """The fast engine behind ``simulate(..., solver=Solver(method="fast"))``; same :class:`Simulation`."""
    from ..simulation import run_batches

    ts = np.asarray(saveat, dtype=float)
    n = len(cohort)
    dtype = jnp.zeros(()).dtype
    n_ev = _bucket(len(regimen.doses), 8)
    batch = min(solver.batch, _bucket(n, 8))
    probe = individualize(model.values, cohort.take(np.arange(min(n, 4))))
    m1 = _one(probe)
    n_states = int(m1.initial_state().shape[0])
    pk = pk_indices(n_states)
    pd = np.setdiff1d(np.arange(n_states), pk)
    ev_probe = jnp.asarray(regimen.event_array(cohort.take(np.arange(min(n, 4))).table["weight_kg"].to_numpy(), n_ev))
    # nudge the stage times inside the step so that inputs switching at a boundary are seen from the right side
    eps = float(jnp.finfo(dtype).eps)
    delta = max(1e-9, 8.0 * eps * float(max(ts.max(), 1.0)))
    prepared = {}

    def prepare(ind):
        """Grid and static settings for a batch (cached by the batch's clinic-session lengths)."""
        key = tuple(np.unique(np.asarray(ind.session_min_h, dtype=float)).tolist())
        if key not in prepared:
            grid = plan(ind, regimen, ts, settings)
            node_t = (grid.t0[: grid.n_steps, None] + GAUSS[None, :] * grid.h[: grid.n_steps, None]).ravel()
            if not prepared:
                verify_pk_block(m1, ev_probe[0], pk, node_t)
            cols, mask = _input_rows(probe, ev_probe, pk, node_t)
            a1 = np.asarray(_jac_at0(m1, ev_probe[0]))
            a_norm = float(np.max(np.sum(np.abs(a1[np.ix_(pk, pk)]), axis=0)))
            n_sub = substeps(8.0 * a_norm, grid.base_h)  # x8: room for the random effects
            save_row = np.concatenate([grid.save_row, np.full(_bucket(ts.size, 64) - ts.size, grid.save_row[-1])])
            arrays = (jnp.asarray(grid.t0, dtype), jnp.asarray(grid.h, dtype), jnp.asarray(grid.cls),
                      jnp.asarray(save_row))
            prepared[key] = dict(grid_arrays=arrays, cols=jnp.asarray(cols), col_mask=jnp.asarray(mask, dtype),
                                 base_h=jnp.asarray(grid.base_h, dtype), delta=jnp.asarray(delta, dtype),
                                 pk=tuple(pk.tolist()), pd=tuple(pd.tolist()), n_classes=grid.n_classes,
                                 n_sub=n_sub, grid=grid)
        return prepared[key]

    def cast(ind):
        return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, ind)

    def solve(ind, events):
        p = prepare(ind)
        return _solve_batch(ind, events, p["grid_arrays"], p["cols"], p["col_mask"], p["base_h"], p["delta"],
                            p["pk"], p["pd"], p["n_classes"], p["n_sub"])

    return run_batches(model, regimen, cohort, ts, batch, n_ev, solve, progress, prepare=cast, dtype=dtype)


@jax.jit
def _jac_at0(model1, events1):
    return jax.jacfwd(lambda y: model1.vector_field(0.0, y, events1))(model1.initial_state())


@jax.jit
def _inputs_at(model, events, times, pk):
    def b(m, e, t):
        y0 = m.initial_state()
        return m.vector_field(t, y0.at[pk].set(0.0), e)[pk]

    return jax.vmap(lambda m, e: jax.vmap(lambda t: b(m, e, t))(times))(model, events)


def _input_rows(probe, events, pk, times):
    """PK rows that receive dose input in this regimen (padded to a multiple of 4, with a mask)."""
    b = np.asarray(_inputs_at(probe, events, jnp.asarray(times), jnp.asarray(pk)))
    rows = np.flatnonzero(np.any(b != 0.0, axis=(0, 1)))
    if rows.size == 0:
        rows = np.array([0])
    r = _bucket(rows.size, 4)
    cols = np.concatenate([rows, np.full(r - rows.size, rows[0])])
    mask = np.concatenate([np.ones(rows.size), np.zeros(r - rows.size)])
    return cols, mask
