"""``Solver(method="fast")``: closed-form linear PK plus a stiff-safe Rosenbrock scheme on a fixed grid.

The model splits into a linear block with constant coefficients — the pharmacokinetic states,
fed by the dose inputs and fed back by nothing — and everything else (receptors → signalling →
synapses → mood, and whatever slow states the model has). The engine

1. reads the linear block's matrix ``A`` off :meth:`Model.vector_field` (``jax.jacfwd``) and its
   input ``b(t)`` as the same vector field's PK rows with the PK states set to zero, and propagates
   it exactly (matrix exponentials by doubling, quadratic quadrature of the input:
   :mod:`.linear`), once per patient per step class;
2. integrates every other state with Verwer's ROS2 (a two-stage, L-stable, second-order
   Rosenbrock-W method), with its stages at the step's two ends, where the PK is known exactly.
   ROS2 keeps its order with any matrix in place of the Jacobian (a W-method), so the non-PK
   block's Jacobian (``jax.jacfwd``) is refreshed only at the first step, at every step that starts
   where an input switches, and every ``jac_every`` (8) steps from there; ``(I - gamma h J)^-1`` is
   rebuilt with it and whenever the step length changes (Gauss-Jordan with the patient axis last:
   :func:`_inverse`), all for the whole batch at once (the grid decides, not the patients: no
   per-patient branch). A step costs three evaluations of the vector field and two small
   matrix-vector products. A W-matrix kept across a change of step length lost the scheme's
   stability on the stiff states (10 % of peak in BDNF, ``tests/test_fast_engine.py``), hence the
   rebuild; a patient whose states diverge anyway (non-finite or beyond :data:`DIVERGED`) is
   flagged ``non_finite``;
3. runs on a precomputed grid (:mod:`.grid`) that is fine while a dose goes in and just after it
   and coarse elsewhere, with every discontinuity on a step boundary: ``jax.lax.scan`` over the
   grid, ``vmap`` over patients, fixed shapes (one compilation serves every cohort size), and no
   host callbacks, so JAX's persistent compilation cache stores the compiled kernel.

Only the PK states the regimen's inputs reach are propagated (a drug the regimen does not give
stays at zero: the ketamine trials skip the midazolam and SSRI states); each patient's linear
block is checked to feed none of the skipped states. The dose input ``b(t)`` is ``B into(t)``,
with ``into`` the model's input channels (:meth:`Model.table_inputs`) and ``B`` read off once.

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

from .. import _kernels
from .._errors import PatientStatus
from ..cohort import Cohort, individualize
from .grid import Grid, _ticks, build_grid
from .linear import GAUSS, propagators, substeps

DIVERGED = 1e8
"""A state beyond this magnitude has diverged (no state of the model comes near it: drug amounts are at most
~1e4 umol, everything else is O(1)); the patient is flagged ``non_finite``."""

GAMMA = 1.0 + 1.0 / math.sqrt(2.0)
"""ROS2's diagonal coefficient (L-stable choice; Verwer, Spee, Blom and Hundsdorfer 1999)."""


@dataclasses.dataclass(frozen=True)
class FastSettings:
    """The grid of the fast engine (hours). Defaults chosen by measurement: docs/scale.md."""

    fine_h: float = 2.0 / 60.0  # step while an input is on and just after it
    coarse_h: float = 4.0  # longest step
    growth: float = 0.1  # step grows by this fraction of the time since the last input ended
    jac_every: int = 8  # steps between fresh Jacobians of the non-PK block (ROS2 is a W-method: docs/scale.md)


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


def _inverse(m):
    """Inverses of a batch of small matrices ``m`` (B, n, n) by Gauss-Jordan elimination with the patient
    axis last, so each elimination step is one vectorised loop over patients (LAPACK's batched inverse makes
    a call per patient). No pivoting: ``I - gamma h J`` has diagonal >= 1 wherever the model's states decay
    (every diagonal entry of the non-PK Jacobian is <= 0 at rest) and its couplings are mostly feed-forward;
    a zero pivot would give a non-finite state, which flags the patient."""
    n = m.shape[-1]
    eye = jnp.broadcast_to(jnp.eye(n, dtype=m.dtype)[:, :, None], (n, n, m.shape[0]))
    a = jnp.concatenate([jnp.moveaxis(m, 0, -1), eye], axis=1)  # [M | I], (n, 2n, B)
    for k in range(n):
        row = a[k] / a[k, k][None]  # (2n, B)
        a = a - a[:, k][:, None] * row[None]
        a = a.at[k].set(row)
    return jnp.moveaxis(a[:, n:], -1, 0)


def _solve_batch_impl(model, events, grid_arrays, cols, col_mask, base_h, delta, *, pk, frozen, pd, n_classes, n_sub):
    """Solve a batch. Per-patient tables and the PK state keep the patient axis LAST, so that the step
    class's propagator is one contiguous slice and the products fuse into loops over patients (a
    patient-first table was re-laid out on every step). The vector field is ``vmap``ped as usual.

    ``pk``: the PK states the regimen's inputs reach (propagated); ``frozen``: the other PK states, which
    stay at their initial value (a drug the regimen does not give); ``cols`` index into ``pk``."""
    t0s, hs, clss, save_row, fresh, new_w = grid_arrays
    dtype = base_h.dtype
    pk, frozen, pd = np.asarray(pk, dtype=np.int64), np.asarray(frozen, dtype=np.int64), np.asarray(pd, dtype=np.int64)
    pk_all = np.sort(np.concatenate([pk, frozen]))
    live_in_all = np.searchsorted(pk_all, pk)
    frozen_in_all = np.searchsorted(pk_all, frozen)
    nodes = jnp.asarray(GAUSS, dtype=dtype)
    eye = jnp.eye(pd.size, dtype=dtype)
    outside = jnp.ones(pk_all.size, dtype).at[jnp.asarray(live_in_all)[cols]].set(0.0)  # PK rows no input is expected on
    n = pk.size + frozen.size + pd.size

    def y0_of(m):
        return m.initial_state().astype(dtype)

    # the event tables compiled once per patient (Model.input_table): the right-hand side only does what depends on t
    events = jax.vmap(lambda m, e: m.input_table(e))(model, events)
    if np.array_equal(np.concatenate([pk, frozen, pd]), np.arange(n)):
        # [live PK; frozen PK; PD] in state order: static slices, so XLA drops the rows a caller does not use
        def assemble(x, fz, z):
            return jnp.concatenate([x, fz, z])

        def rows_pd(f):
            return f[pk.size + frozen.size:]
    else:
        def assemble(x, fz, z):
            return jnp.zeros(n, dtype=x.dtype).at[pk].set(x).at[frozen].set(fz).at[pd].set(z)

        def rows_pd(f):
            return f[pd]

    def b_matrix(m, e):
        """The PK rows' dose input is ``B @ into(t)`` (linear in the model's input channels, Model.field);
        ``B`` (all PK rows) read off once per patient: the PK rows with the PK states at zero."""
        y0 = y0_of(m)
        into, *rest = m.table_inputs(jnp.asarray(-1.0, dtype), e)
        return jax.jacfwd(lambda u: m.field(y0.at[pk_all].set(0.0), u, *rest)[pk_all])(into)

    def b_of(m, e, bm, t):  # dose input of every PK row at t
        return jnp.sum(bm * m.table_inputs(t, e)[0][None, :], axis=1)

    fz0 = jnp.zeros(frozen.size, dtype)  # the skipped PK states: zero (_reachable keeps every non-zero start live)

    def f_pd(m, e, t, x, z):
        return rows_pd(m.rhs(t, assemble(x, fz0, z), e))

    def tables(m, e):
        """Propagators of the live PK block, and how strongly it feeds the frozen states (must be 0)."""
        y0 = y0_of(m)
        a_all = jax.jacfwd(lambda xa: m.rhs(jnp.zeros((), dtype), y0.at[pk_all].set(xa), e)[pk_all])(y0[pk_all])
        a = a_all[live_in_all][:, live_in_all]
        feeds_frozen = jnp.sum(jnp.abs(a_all[frozen_in_all][:, live_in_all]))
        e_tab, w_tab = propagators(a, cols, base_h, n_classes, n_sub)
        return a, e_tab, w_tab, feeds_frozen

    a, e_tab, w_tab, feeds_frozen = jax.vmap(tables)(model, events)  # (B, n, n), (B, C, n, n), (B, C, 3, n, r), (B,)
    a = jnp.moveaxis(a, 0, -1)
    e_tab = jnp.moveaxis(e_tab, 0, -1)  # (C, n, n, B)
    w_tab = jnp.moveaxis(w_tab, 0, -1)  # (C, 3, n, r, B)

    def pd_jacobian(m, e, x, z, ta):
        """The non-PK block's Jacobian at ``(ta, x, z)``."""
        return jax.jacfwd(lambda zz: f_pd(m, e, ta, x, zz))(z)

    def pd_step(m, e, x, x1, x_dot, z, ta, tb, h, w_inv):
        """ROS2 (Verwer 1999) on the autonomised PD system (t a state): stages at the step's two ends. A
        W-method: second order with any ``w_inv``, here from a Jacobian up to ``jac_every - 1`` steps old."""
        f0, f_t = jax.jvp(lambda tt, xx: f_pd(m, e, tt, xx, z), (ta, x), (jnp.ones_like(ta), x_dot))
        solve = lambda v: jnp.sum(w_inv * v[None, :], axis=1)  # noqa: E731
        k1 = solve(f0 + (GAMMA * h) * f_t)
        k2 = solve(f_pd(m, e, tb, x1, z + h * k1) - 2.0 * k1 - (GAMMA * h) * f_t)
        return z + h * (1.5 * k1 + 0.5 * k2)

    # the dose input at every quadrature node and stage time of the grid, before the loop: one large
    # vectorised evaluation instead of many small gathers per step. Rows the grid was not built for
    # must stay empty (``leak``).
    times = jnp.concatenate([t0s[:, None] + nodes[None, :] * hs[:, None], (t0s + delta)[:, None]], axis=1)  # (N, 4)
    def b_split(m, e, bm, t):  # (input rows, size of the input anywhere else)
        b = b_of(m, e, bm, t)
        return b[live_in_all][cols] * col_mask, jnp.sum(jnp.abs(b) * outside)

    b_in, leak = jax.vmap(lambda m, e, bm: jax.vmap(jax.vmap(lambda t: b_split(m, e, bm, t)))(times))(
        model, events, jax.vmap(b_matrix)(model, events))
    b_in = jnp.moveaxis(b_in, 0, -1)  # (N, 4, r, B)
    leak = jnp.sum(leak, axis=(1, 2)) + feeds_frozen
    in_rows = jnp.zeros((pk.size, cols.shape[0]), dtype).at[cols, jnp.arange(cols.shape[0])].set(col_mask)

    def step(carry, inp):
        x, z, jac, w_inv = carry  # (n_pk, B), (n_pd, B), (B, n_pd, n_pd) x 2
        fresh_jac, fresh_w, t0, h, c, b = inp
        ta, tb = t0 + delta, t0 + h - delta
        # multiply-and-sum, not dot: under vmap a dot is one tiny GEMV call per patient on the CPU
        e_c = jax.lax.dynamic_index_in_dim(e_tab, c, 0, keepdims=False)
        w_c = jax.lax.dynamic_index_in_dim(w_tab, c, 0, keepdims=False)
        x1 = jnp.sum(e_c * x[None], axis=1) + jnp.sum(w_c * b[:3, None], axis=(0, 2))
        x_dot = jnp.sum(a * x[None], axis=1) + jnp.sum(in_rows[:, :, None] * b[3][None], axis=1)
        # a fresh Jacobian and a fresh (I - gamma h J)^-1 where the grid says so (refresh_steps; the flags are
        # the grid's, not the patients': one branch for the whole batch)
        jac = jax.lax.cond(fresh_jac, lambda: jax.vmap(pd_jacobian, in_axes=(0, 0, 1, 1, None))(model, events, x, z, ta),
                           lambda: jac)
        w_inv = jax.lax.cond(fresh_w, lambda: _inverse(eye - (GAMMA * h) * jac), lambda: w_inv)
        z1 = jax.vmap(pd_step, in_axes=(0, 0, 1, 1, 1, 1, None, None, None, 0), out_axes=1)(
            model, events, x, x1, x_dot, z, ta, tb, h, w_inv)
        return (x1, z1, jac, w_inv), jnp.concatenate([x1, z1])

    y0 = jax.vmap(y0_of)(model)  # (B, n)
    w0 = jnp.zeros((y0.shape[0], pd.size, pd.size), dtype)
    carry0 = (y0[:, pk].T, y0[:, pd].T, w0, w0)
    # the state after every step (scan stacks them in place; a save buffer in the carry was copied every step)
    _, y_steps = jax.lax.scan(step, carry0, (fresh, new_w, t0s, hs, clss, b_in))  # (N, n_pk + n_pd, B)
    y_lp = jnp.concatenate([jnp.concatenate([y0[:, pk], y0[:, pd]], axis=1).T[None], y_steps])[save_row]  # (T, ., B)
    y_fz = jnp.zeros((y_lp.shape[0], frozen.size, y0.shape[0]), dtype)
    order = np.argsort(np.concatenate([pk, pd, frozen]))  # back to the model's state order
    ys = jnp.moveaxis(jnp.concatenate([y_lp, y_fz], axis=1)[:, order], -1, 0)  # (B, T, n)
    # finite and within DIVERGED of zero: a step that lost stability shows as huge, not always as inf/NaN
    sane = jnp.all(jnp.isfinite(ys) & (jnp.abs(ys) < DIVERGED), axis=(1, 2))
    status = jnp.where(sane, jnp.where(leak > 0, PatientStatus.solver_failed, PatientStatus.ok),
                       PatientStatus.non_finite)
    return ys, jax.vmap(lambda m, y: m.readouts(y))(model, ys), status


@eqx.filter_jit
def _solve_batch(model, events, grid_arrays, cols, col_mask, base_h, delta, pk, frozen, pd, n_classes, n_sub):
    return _solve_batch_impl(model, events, grid_arrays, cols, col_mask, base_h, delta, pk=pk, frozen=frozen, pd=pd,
                             n_classes=n_classes, n_sub=n_sub)


def _bucket(n: int, step: int) -> int:
    return max(step, -(-n // step) * step)


def regimen_marks(model, regimen):
    """``(starts, ends, session_ends)`` of the regimen's inputs, hours (needs the batched model for the
    clinic session's length)."""
    sess = np.unique(np.asarray(model.session_min_h, dtype=float).ravel())
    starts = np.array([d.time_h for d in regimen.doses], dtype=float)
    ends = np.array([d.time_h + d.duration_h for d in regimen.doses], dtype=float)
    session_ends = (starts[:, None] + sess[None, :]).ravel() if starts.size else np.zeros(0)
    return starts, ends, session_ends


def refresh_steps(grid: Grid, marks, jac_every: int) -> tuple[np.ndarray, np.ndarray]:
    """``(fresh_jacobian, fresh_w)``, bool per grid step. A fresh Jacobian at the first step, at each step
    that starts where an input switches (the Jacobian jumps with the drug and the sessions), and from there
    every ``jac_every``-th; a fresh ``(I - gamma h J)^-1`` with each fresh Jacobian and whenever the step
    length differs from the one it was made for (a W-matrix made for a step 4x shorter loses the method's
    stability on the stiff states: measured, 10 % errors in BDNF)."""
    at_mark = np.isin(_ticks(grid.t0), _ticks(np.concatenate(marks)))
    fresh = np.zeros(grid.t0.size, dtype=bool)
    since = jac_every
    for i in range(grid.t0.size):
        if at_mark[i] or since >= jac_every:
            fresh[i], since = True, 0
        since += 1
    new_h = np.concatenate([[True], grid.cls[1:] != grid.cls[:-1]])
    return fresh, fresh | new_h


def plan(model, regimen, saveat, settings: FastSettings = FastSettings()) -> Grid:
    """The grid for ``regimen`` saved at ``saveat`` (needs the batched model for the session length)."""
    starts, ends, session_ends = regimen_marks(model, regimen)
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
            rows = _input_rows(probe, ev_probe, pk, node_t)
            a_pk = sum(np.abs(np.asarray(_jac_at0(_one(probe, i), ev_probe[i]))[np.ix_(pk, pk)])
                       for i in range(ev_probe.shape[0]))
            live = _reachable(a_pk, rows, np.asarray(m1.initial_state())[pk])
            cols, mask = _pad_rows(np.searchsorted(live, rows))
            a_norm = float(np.max(np.sum(a_pk[np.ix_(live, live)], axis=0)) / ev_probe.shape[0])
            n_sub = substeps(8.0 * a_norm, grid.base_h)  # x8: room for the random effects
            save_row = np.concatenate([grid.save_row, np.full(_bucket(ts.size, 64) - ts.size, grid.save_row[-1])])
            fresh, new_w = refresh_steps(grid, regimen_marks(ind, regimen), settings.jac_every)
            arrays = (jnp.asarray(grid.t0, dtype), jnp.asarray(grid.h, dtype), jnp.asarray(grid.cls),
                      jnp.asarray(save_row), jnp.asarray(fresh), jnp.asarray(new_w))
            prepared[key] = dict(grid_arrays=arrays, cols=jnp.asarray(cols), col_mask=jnp.asarray(mask, dtype),
                                 base_h=jnp.asarray(grid.base_h, dtype), delta=jnp.asarray(delta, dtype),
                                 pk=tuple(pk[live].tolist()), frozen=tuple(np.delete(pk, live).tolist()),
                                 pd=tuple(pd.tolist()), n_classes=grid.n_classes, n_sub=n_sub, grid=grid)
        return prepared[key]

    def cast(ind):
        return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, ind)

    def solve(ind, events):
        p = prepare(ind)
        # through the kernel store (neuroplast._kernels): a later process neither traces nor compiles
        return _kernels.call("fast_batch", _solve_batch,
                             (ind, events, p["grid_arrays"], p["cols"], p["col_mask"], p["base_h"], p["delta"]),
                             (p["pk"], p["frozen"], p["pd"], p["n_classes"], p["n_sub"]))

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


def _input_rows(probe, events, pk, times) -> np.ndarray:
    """Positions in ``pk`` of the PK rows that receive dose input in this regimen (at least one)."""
    b = np.asarray(_inputs_at(probe, events, jnp.asarray(times), jnp.asarray(pk)))
    rows = np.flatnonzero(np.any(b != 0.0, axis=(0, 1)))
    return rows if rows.size else np.array([0])


def _pad_rows(rows: np.ndarray):
    """``rows`` padded to a multiple of 4 (few compiled shapes), with a mask of the real ones."""
    r = _bucket(rows.size, 4)
    cols = np.concatenate([rows, np.full(r - rows.size, rows[0])])
    return cols, np.concatenate([np.ones(rows.size), np.zeros(r - rows.size)])


def _reachable(a_abs: np.ndarray, rows: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Sorted positions of the PK states the inputs (``rows``) or a non-zero initial state reach through the
    linear block (``a_abs[i, j] > 0``: state ``j`` feeds state ``i``). The others stay at their initial value
    (zero: a drug the regimen does not give); the engine checks that per patient (``feeds_frozen``)."""
    seen = set(int(r) for r in rows) | set(np.flatnonzero(x0 != 0.0).tolist())
    todo = list(seen)
    while todo:
        j = todo.pop()
        for i in np.flatnonzero(a_abs[:, j] > 0.0).tolist():
            if i not in seen:
                seen.add(i)
                todo.append(i)
    return np.asarray(sorted(seen), dtype=np.int64)
