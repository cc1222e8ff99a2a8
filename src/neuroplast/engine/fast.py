"""The fast engine, :class:`Fast`: closed-form linear PK plus an adaptive, stiff-safe Rosenbrock-W scheme.

The model splits into a linear block with constant coefficients — the pharmacokinetic states,
fed by the dose inputs and fed back by nothing — and everything else (receptors → signalling →
synapses → mood, and whatever slow states the model has). The engine

1. reads the linear block's matrix ``A`` off :meth:`Model.vector_field` (``jax.jacfwd``) and its
   input ``b(t)`` as the same vector field's PK rows with the PK states set to zero, and propagates
   it exactly (matrix exponentials by doubling, quadratic quadrature of the input:
   :mod:`.linear`), once per patient per step class; the products leave out the exponentials'
   structural zeros (:func:`pk_groups`: the blocks that do not feed each other, and the sinks);
2. integrates every other state with Verwer's ROS2 (a two-stage, L-stable, second-order
   Rosenbrock-W method), with its stages at the step's two ends, where the PK is known exactly.
   ROS2 keeps its order with any matrix in place of the Jacobian (a W-method), so the non-PK
   block's Jacobian is refreshed only at a discontinuity, after a rejected step and every
   ``jac_every`` (8) accepted steps. Only its non-zeros are kept (the pattern read off the model at
   set-up), from one directional derivative per group of columns that share no row, and
   ``I - gamma h J`` is factored at every step by a sparse LU along a static plan (:mod:`.sparse`;
   for the default model, whose non-PK states have no feedback loop, a forward substitution);
3. chooses the step by error control: ROS2's embedded first-order solution ``z + h k1`` gives an
   error estimate per patient (RMS over the non-PK states, scaled by ``atol + rtol |z|``); a step
   is accepted when the batch's worst patient is within tolerance, and the next step is halved,
   kept or doubled. Steps are ``base_h * 2**k`` (:mod:`.grid`), so the propagators of step 1 serve
   every step, and never cross a discontinuity (a dose's start or stop, a clinic session's end). The
   shortest step (``min_h``, 5 s) is always accepted, so no patient can be lost to a step limit;
4. writes the save times by cubic Hermite interpolation on the step that holds them (a step spans
   at most ``n_slots`` of them, 2 unless they are denser than the shortest step; the derivative at the
   step's end is the second stage's, corrected by ``J dz``: ``pd_step``), so the save times do not cut
   the steps;
5. runs as one ``jax.lax.while_loop`` per batch, ``vmap`` over patients inside, fixed shapes (one
   compilation serves every cohort size) and no host callbacks, so JAX's persistent compilation
   cache and the kernel store keep the compiled kernel (compiled with :func:`compile_options`).
   What is read off the model once per batch (event tables, ``A``, ``B``, the guards, the initial
   state: :func:`_setup_impl`) is a kernel of its own compiled at XLA's optimisation level 0, where
   compile time is what counts; the propagators and the loop are compiled at full optimisation.

The step size is the batch's (one branch per step for all patients: the per-step matrices stay
contiguous and shared branches stay branches), so a patient's result depends, within the
tolerances, on the patients it shares a batch with (``Fast.batch``; by default ``Fast.cpu_batch``,
64, on the CPU and ``Fast.device_batch`` on a GPU): the same cohort with the same batch size
gives the same numbers. A patient whose states turn non-finite or go beyond :data:`DIVERGED` at the
shortest step is flagged ``non_finite`` and left out of the control.

Only the PK states the regimen's inputs reach are propagated (a drug the regimen does not give
stays at zero: the ketamine trials skip the midazolam and SSRI states); each patient's linear
block is checked to feed none of the skipped states. The dose input ``b(t)`` is ``B into(t)``,
with ``into`` the model's input channels (:meth:`Model.table_inputs`) and ``B`` read off once;
an IV-only regimen's input is constant on every step: the sum of the contributions of the infusions
on, each read off once per batch (:func:`iv_rows`). A patient whose dose input lands on a PK row
the engine was not set up for (cannot happen for a regimen's own drugs; a guard) is flagged
``solver_failed``.

Which states are the PK block is read from :mod:`neuroplast.model` (:data:`~neuroplast.model.PK_SCALES` in its
:data:`~neuroplast.model.LAYOUT`) and checked
numerically at every set-up: the block's rows must be affine in the block's states alone, with the
same coefficients at every time and state. The non-PK states read only the PK states
:data:`neuroplast.model.PK_READ` declares (checked the same way), so the PK derivative the ROS2 stages
need is computed on those rows only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse.csgraph import connected_components, dijkstra

from .._arrays import sum_rows
from .._errors import NeuroplastInputError, PatientStatus
from ..cohort import Cohort
from ..model import LAYOUT, PK_READ, PK_SCALES, TABLE, Model
from ..parameters import PopulationModel
from ..regimen import Regimen
from . import kernels
from .base import Engine, Simulation, check_batch, run_batches
from .base import bucket as _bucket
from .grid import TimeBase, time_base
from .kernels import compile_options
from .linear import GAUSS, propagators, substeps
from .sparse import Plan, pattern_of

DIVERGED = 1e8
"""A state beyond this magnitude has diverged (no state of the model comes near it: drug amounts are at most
~1e4 umol, everything else is O(1)); the patient is flagged ``non_finite``."""

GAMMA = 1.0 + 1.0 / math.sqrt(2.0)
"""ROS2's diagonal coefficient (L-stable choice; Verwer, Spee, Blom and Hundsdorfer 1999)."""

PROBE_SAVES = 32
"""The set-up looks at the vector field at most at this many of the save times (and at every dose's quarter and
middle points): :func:`simulate_fast`'s ``prepare``."""


@dataclasses.dataclass(frozen=True)
class Fast(Engine):
    """The fast engine and its step-size control (hours). Defaults chosen by measurement: docs/scale.md.

    ``batch``: patients per compiled batch, who share a step size (the controller follows the batch's worst
    patient); ``None``: ``cpu_batch`` on the CPU (64, measured), ``device_batch`` on other backends (a GPU:
    an assumption, not measured; a step attempt is a few dozen kernels whatever the batch, so a GPU needs tens of
    thousands of patients in flight; a batch of 32,768 needs ~1.6 GB, measured on the CPU in float32, 84 days
    saved daily)."""

    fine_h: float = 2.0 / 60.0  # first step at every discontinuity (a dose starts or stops)
    min_h: float = 5.0 / 3600.0  # the shortest step (at most; the time base): always accepted, so no patient is lost
    coarse_h: float = 24.0  # longest step
    rtol: float = 5e-3  # the controller's tolerances on the non-PK states (ROS2's embedded error estimate), chosen
    atol: float = 2e-4  # by step counts and true-MADRS errors against rtol 1e-8 references: docs/scale.md
    jac_every: int = 8  # accepted steps between fresh Jacobians of the non-PK block (ROS2 is a W-method: docs/scale.md)
    batch: int | None = None
    cpu_batch: int = 64
    device_batch: int = 32_768

    def __post_init__(self):
        check_batch(self)
        for name in ("fine_h", "min_h", "coarse_h", "rtol", "atol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise NeuroplastInputError("must be a positive number", field=f"engine.{name}", value=v)
        if not self.min_h <= self.fine_h <= self.coarse_h:
            raise NeuroplastInputError("must satisfy min_h <= fine_h <= coarse_h", field="engine.fine_h",
                                       value=self.fine_h)  # fmt: skip

    def own_batch(self) -> int:
        return self.cpu_batch if jax.default_backend() == "cpu" else self.device_batch

    def run(
        self,
        model: PopulationModel,
        regimen: Regimen,
        cohort: Cohort,
        ts: np.ndarray,
        progress: Callable[[int], None] | None = None,
        stats: list | None = None,
    ) -> Simulation:
        """Solve the cohort (see :class:`neuroplast.engine.Engine`); ``stats``: if given, gets ``(accepted,
        rejected)`` steps per batch."""
        return simulate_fast(model, regimen, cohort, ts, self, progress, stats)


def pk_indices(n_states: int) -> np.ndarray:
    """Indices of the model's linear PK states (the states of :data:`neuroplast.model.PK_SCALES`; checked by
    :func:`verify_pk_block`)."""
    idx = sorted(i for i in LAYOUT.of(*PK_SCALES) if i < n_states)
    return np.asarray(idx, dtype=np.int64)


def iv_rows(table):
    """For a compiled input table (:data:`neuroplast.model.TABLE`) whose rows are all IV infusions: each row's
    ``(start, end, into)``, ``into`` (n_events, channels) the input into the PK entry points while the row is on,
    in the order of :meth:`Model.table_inputs`'s ``into`` (which is their sum over the rows on at ``t``)."""
    return table[:, TABLE.start], table[:, TABLE.end], table[:, TABLE.rate : TABLE.rate + 1] * table[:, TABLE.into]


def _one(tree, i=0):
    return jax.tree_util.tree_map(lambda x: x[i], tree)


def _probe(model, events, idx, ts, ys):
    """The vector field of patient ``idx[i]`` at ``(ts[i], ys[i])`` and its Jacobian there, for the host-side
    set-up (one compiled look at the model, not one per question: each copy of the model costs a compile)."""

    def one(i, t, y):
        m, e = _one(model, i), events[i]
        return jax.jacfwd(lambda yy: (m.vector_field(t, yy, e),) * 2, has_aux=True)(y)

    return jax.vmap(one)(idx, ts, ys)


def read_rows(jac: np.ndarray, pk: np.ndarray, pd: np.ndarray, live: np.ndarray) -> tuple:
    """Positions in ``pk[live]`` of the PK states the non-PK block reads (:data:`neuroplast.model.PK_READ`, the
    model's declaration): the engine needs their derivative only. Raise if the Jacobians ``jac`` show the non-PK
    rows reading a live PK state the declaration leaves out."""
    declared = np.isin(pk[live], PK_READ)
    seen = np.any(jac[:, pd][:, :, pk[live]] != 0.0, axis=(0, 1))
    if np.any(seen & ~declared):
        raise RuntimeError(
            "the model's non-PK states read PK states that neuroplast.model.PK_READ does not list: add them there"
        )
    return tuple(np.flatnonzero(declared).tolist())


def _initial_states(model):
    """Every patient's initial state (one compiled call for the set-up, not an eager operation per primitive)."""
    return jax.vmap(lambda m: m.initial_state())(model)


def probe_points(y0: np.ndarray, times: np.ndarray):
    """Where :func:`verify_pk_block` looks: up to 6 of ``times``, at random states around the initial one ``y0``."""
    rng = np.random.default_rng(0)
    k = min(len(times), 6)
    ts = np.asarray(times)[np.linspace(0, len(times) - 1, k).astype(int)]
    return ts, y0 + rng.uniform(0.0, 2.0, size=(k, y0.size)) * (1.0 + np.abs(y0))


def verify_pk_block(jac: np.ndarray, pk: np.ndarray) -> None:
    """Raise if the PK rows of the Jacobians ``jac`` (k, n, n; at :func:`probe_points`) are not affine in the PK
    states alone with constant coefficients."""
    n = jac.shape[-1]
    rows = jac[:, pk, :]
    other = np.setdiff1d(np.arange(n), pk)
    scale = np.max(np.abs(rows)) + 1e-300
    if np.any(np.abs(rows[:, :, other]) > 1e-12 * scale) or np.any(np.abs(rows - rows[:1]) > 1e-9 * scale):
        raise RuntimeError(
            "the fast solver needs the model's PK states (neuroplast.model slices) to form a linear "
            "block with constant coefficients; they do not: use neuroplast.engine.Tsit5()"
        )


def matvec(m, v):
    """``m @ v`` per patient, patient axis last: ``m`` (r, c, B) (or (r, c, 1): the same for all), ``v`` (c, B)
    -> (r, B). Unrolled over ``c`` into one elementwise loop: XLA's CPU backend turns the same product written
    as multiply-and-sum into a reduction fusion several times slower on these small shapes (profiled: docs/scale.md)."""
    return _columns_times(lambda j: m[:, j], v)


def _columns_times(col, v):
    """``sum_j col(j) * v[j]``, unrolled (see :func:`matvec`)."""
    acc = col(0) * v[0]
    for j in range(1, v.shape[0]):
        acc = acc + col(j) * v[j]
    return acc


def matvec_at(table, k, v):
    """``table[k] @ v`` per patient (``table`` (C, r, c, B), ``v`` (c, B)) without copying ``table[k]`` out: one
    dynamic slice per column, which XLA fuses into the product (the whole step class's slice was a copy of its
    own on every step: measured ~1.1x per step attempt, docs/scale.md)."""
    r, _, b = table.shape[1:]
    zero = jnp.zeros((), k.dtype)

    def col(j):
        return jax.lax.dynamic_slice(table, (k, zero, jnp.asarray(j, k.dtype), zero), (1, r, 1, b)).reshape(r, b)

    return _columns_times(col, v)


def _into_at(model, events, t):
    """The batch's dose-input channels at ``t`` (:meth:`Model.table_inputs`, compiled event tables): (channels, B)."""
    return jax.vmap(lambda m, e: m.table_inputs(t, e)[0], out_axes=-1)(model, events)


def _setup_impl(model, events, marks_u, cols, col_mask, base_h, delta, *, pk, frozen, pd, pk_groups):
    """What a batch reads off the model before its first step, per patient: the compiled event tables, the live
    PK block's matrix ``A``, the dose-input matrix, a guard (``leak``: must be 0) and the initial state. A kernel
    of its own, compiled at XLA's optimisation level 0: it runs once per batch, so its compile time is what counts
    (inside the stepping kernel, with the propagators, it was about half of that kernel's XLA time; the
    propagators, matrix products that run 2x slower at level 0, are made in the stepping kernel: docs/scale.md).

    Returns ``(events, a, bm_r, leak, x0, z0)``: ``a`` (B, n, n) over the live PK states; ``bm_r`` (r, channels,
    B), the input rows' dose-input matrix; ``leak`` (B,); ``x0`` (n, B) and ``z0`` (non-PK states, B)."""
    dtype = base_h.dtype
    pk, frozen, pd = np.asarray(pk, dtype=np.int64), np.asarray(frozen, dtype=np.int64), np.asarray(pd, dtype=np.int64)
    pk_all = np.sort(np.concatenate([pk, frozen]))
    live_in_all = np.searchsorted(pk_all, pk)
    frozen_in_all = np.searchsorted(pk_all, frozen)
    # the PK rows no input is expected on
    outside = jnp.ones(pk_all.size, dtype).at[jnp.asarray(live_in_all)[cols]].set(0.0)

    def y0_of(m):
        return m.initial_state().astype(dtype)

    # the event tables compiled once per patient (Model.input_table): the right-hand side only does what depends on t
    events = jax.vmap(lambda m, e: m.input_table(e))(model, events)

    def b_matrix(m, e):
        """The PK rows' dose input is ``B @ into(t)`` (linear in the model's input channels, Model.field);
        ``B`` (all PK rows) read off once per patient: the PK rows with the PK states at zero."""
        y0 = y0_of(m)
        into, *rest = m.table_inputs(jnp.asarray(-1.0, dtype), e)
        return jax.jacfwd(lambda u: m.field(y0.at[pk_all].set(0.0), u, *rest)[pk_all])(into)

    uncovered = jnp.asarray(~covered(pk_groups, pk.size), dtype)

    def tables(m, e):
        """The live PK block's matrix, and how strongly it feeds the frozen states or entries outside
        ``pk_groups`` (must be 0)."""
        y0 = y0_of(m)
        a_all = jax.jacfwd(lambda xa: m.rhs(jnp.zeros((), dtype), y0.at[pk_all].set(xa), e)[pk_all])(y0[pk_all])
        a = a_all[live_in_all][:, live_in_all]
        # stray: how strongly it feeds the frozen states, or reaches entries of E the groups skip (must be 0)
        stray = jnp.sum(jnp.abs(a_all[frozen_in_all][:, live_in_all])) + jnp.sum(
            jnp.abs(a_all[live_in_all][:, live_in_all]) * uncovered
        )
        return a, stray

    a, stray = jax.vmap(tables)(model, events)  # (B, n, n), (B,)
    bm = jax.vmap(b_matrix)(model, events)  # (B, all PK rows, channels)
    bm_r = jnp.moveaxis(bm[:, live_in_all][:, cols] * col_mask[None, :, None], 0, -1)  # the input rows: (r, ch, B)
    # dose input on any other PK row (cannot happen for a regimen's own drugs: a guard, flagged solver_failed).
    # Which channels are on changes only at a discontinuity, so each one's right side is where to look.
    # (B, channels); an einsum: XLA's CPU compiler summed the same product written as multiply-and-sum wrongly in
    # float32 (a third of the patients flagged; test_float32_keeps_every_patient)
    leak_bm = jnp.einsum("brc,r->bc", jnp.abs(bm), outside)

    leak = stray + jnp.sum(
        jax.vmap(lambda tm: jnp.sum(leak_bm.T * jnp.abs(_into_at(model, events, tm)), axis=0))(
            marks_u.astype(dtype) * base_h + delta
        ),
        axis=0,
    )  # (B,): must be 0
    y0 = jax.vmap(y0_of)(model)  # (B, n)
    return events, a, bm_r, leak, y0[:, pk].T, y0[:, pd].T


def _solve_batch_impl(
    model,
    events,
    a,
    bm_r,
    leak,
    x0,
    z0,
    marks_u,
    saves,
    j0,
    cols,
    col_mask,
    base_h,
    delta,
    k_max,
    k_mark,
    tol,
    *,
    pk,
    frozen,
    pd,
    reads,
    lu_plan,
    n_classes,
    n_sub,
    n_slots,
    jac_every,
    iv_only,
    pk_groups,
):
    """Solve a batch from what :func:`_setup_impl` made of it (``events``: the compiled event tables). The
    per-patient tables and the PK state keep the patient axis LAST, so that the step class's propagator is one
    contiguous slice and the products fuse into loops over patients (a patient-first table was re-laid out on
    every step). The vector field is ``vmap``ped as usual.

    ``marks_u``: the discontinuities and the end in units of ``base_h`` (the last is the end); ``saves``:
    the save times (h), padded with ``inf``; ``j0``: how many of them are at or before 0 (the initial state).
    ``pk``: the PK states the regimen's inputs reach (propagated); ``frozen``: the other PK states, which
    stay at zero (a drug the regimen does not give); ``cols`` and ``reads`` (the PK states the non-PK block
    reads: :data:`neuroplast.model.PK_READ`) index into ``pk``. ``tol``: (rtol, atol). ``lu_plan``: the
    :class:`.sparse.Plan` of the non-PK Jacobian's pattern (states numbered within ``pd``). Returns the states at
    the save times (B, T, n), the read-outs, each patient's status and the batch's accepted and rejected steps."""
    dtype = base_h.dtype
    itype = marks_u.dtype
    pk, frozen, pd = np.asarray(pk, dtype=np.int64), np.asarray(frozen, dtype=np.int64), np.asarray(pd, dtype=np.int64)
    nodes = jnp.asarray(GAUSS, dtype=dtype)
    lu_plan = Plan(*lu_plan)
    seeds = jnp.asarray(lu_plan.seeds(), dtype)
    n = pk.size + frozen.size + pd.size
    end_u = marks_u[-1]
    rtol, atol = tol[0], tol[1]

    if np.array_equal(np.concatenate([pk, frozen, pd]), np.arange(n)):
        # [live PK; frozen PK; PD] in state order: static slices, so XLA drops the rows a caller does not use
        def assemble(x, fz, z):
            return jnp.concatenate([x, fz, z])

        def rows_pd(f):
            return f[pk.size + frozen.size :]
    else:

        def assemble(x, fz, z):
            return jnp.zeros(n, dtype=x.dtype).at[pk].set(x).at[frozen].set(fz).at[pd].set(z)

        def rows_pd(f):
            return f[pd]

    fz0 = jnp.zeros(frozen.size, dtype)  # the skipped PK states: zero (_reachable keeps every non-zero start live)

    def f_pd(m, e, t, x, z):
        return rows_pd(m.rhs(t, assemble(x, fz0, z), e))

    # the propagators per step class: (B, C, n, n), (B, C, 3, n, r)
    e_tab, w_tab = jax.vmap(lambda a_p: propagators(a_p, cols, base_h, n_classes, n_sub))(a)
    # E by groups (pk_groups: rows, and the columns they read; its structural zeros left out): (C, rows, cols, B) each
    e_groups = [jnp.moveaxis(e_tab[:, :, np.asarray(r)][:, :, :, np.asarray(c)], 0, -1) for r, c in pk_groups]
    del e_tab
    w_tab = jnp.moveaxis(w_tab, 0, -1)  # (C, 3, n, r, B)
    if iv_only:  # the input is constant on every step: one matrix per class, summed over the nodes (C, n, r, B)
        w_tab = jnp.sum(w_tab, axis=1)
    a = jnp.moveaxis(a, 0, -1)  # (n, n, B)
    in_rows = jnp.zeros((pk.size, cols.shape[0]), dtype).at[cols, jnp.arange(cols.shape[0])].set(col_mask)
    reads = np.asarray(reads, dtype=np.int64)
    a_reads, in_reads = a[reads], in_rows[reads]  # the rows of x' the non-PK block reads: (q, n, B), (q, r)

    if iv_only:
        # infusions only: each row's contribution to the input rows while it is on, once per batch ((rows, r, B),
        # Model.iv_rows); a step's input is the sum of the rows on (the model's table_inputs, vmapped, with the
        # depot outflows it would discard and the channels, cost ~3 us of a ~20 us attempt: docs/scale.md)
        rows_iv = jax.vmap(iv_rows)(events)
        ev_start, ev_end, ev_into = (jnp.moveaxis(v, 0, -1) for v in rows_iv)  # (rows, B), (rows, B), (rows, 8, B)
        ev_in = jnp.stack([matvec(bm_r, ev_into[i]) for i in range(ev_into.shape[0])])  # (rows, r, B)

        def inputs_at(t):
            """The dose input on the input rows at ``t``: (r, B)."""
            on = (t >= ev_start) & (t < ev_end)
            return sum_rows(
                lambda i: jnp.where(on[i], ev_in[i], 0.0),
                ev_in.shape[0],
                lambda: jnp.sum(jnp.where(on[:, None], ev_in, 0.0), axis=0),
            )
    else:

        def inputs_at(t):
            """The dose input on the input rows at ``t``: (r, B)."""
            return matvec(bm_r, _into_at(model, events, t))

    def pk_rate(x, b):  # x' of the live PK block: A x + input
        return matvec(a, x) + matvec(in_rows[:, :, None], b)  # in_rows: the same for every patient

    def pk_rate_read(x, b):  # x' on the rows the non-PK block reads (zero elsewhere: its JVP does not see them)
        r = matvec(a_reads, x) + matvec(in_reads[:, :, None], b)
        pos = {row: i for i, row in enumerate(reads.tolist())}  # static rows: no scatter (XLA makes it a loop)
        zero = jnp.zeros_like(x[0])
        return jnp.stack([r[pos[i]] if i in pos else zero for i in range(x.shape[0])])

    f_batch = jax.vmap(f_pd, in_axes=(0, 0, None, 1, 1), out_axes=1)
    n_seeds = seeds.shape[0]

    def derivatives(x, x_dot, z, ta, refresh):
        """The non-PK derivative at the step's start, its total derivative in time (the PK moving at ``x_dot``)
        and, when ``refresh``, the Jacobian compressed along the plan's seeds (one per group of columns that share
        no row: :class:`.sparse.Plan`), (groups, n, B). One linearisation and one call site of its tangent for
        all of them (a loop over 1 or 1 + groups directions): each copy of the model costs compile time."""
        f0, lin = jax.linearize(lambda tt, xx, zz: f_batch(model, events, tt, xx, zz), ta, x, z)

        def direction(i, acc):
            stage = i == 0
            dz = jnp.where(stage, 0.0, seeds[jnp.maximum(i - 1, 0)])[:, None] * jnp.ones_like(z)
            d = lin(jnp.where(stage, 1.0, 0.0).astype(ta.dtype), jnp.where(stage, x_dot, 0.0), dz)
            return jax.lax.dynamic_update_index_in_dim(acc, d, i, 0)

        n_dir = jnp.where(refresh, 1 + n_seeds, 1)
        out = jax.lax.fori_loop(0, n_dir, direction, jnp.zeros((1 + n_seeds, *z.shape), z.dtype))
        return f0, out[0], out[1:]

    def pd_step(x1, z, tb, h, jac, f0, f_t):
        """ROS2 (Verwer 1999) on the autonomised PD system (t a state): stages at the step's two ends. A
        W-method: second order with any matrix for the Jacobian, here ``jac`` (its pattern's entries, (nnz, B))
        up to ``jac_every - 1`` steps old, in ``W = I - gamma h J`` (factored at every step: :mod:`.sparse`).
        Returns the new state, the error estimate (against the embedded first-order ``z + h k1``) and the
        derivative at the step's end for the save's interpolation, from the second stage's ``f`` at
        ``z + h k1`` by one linear correction to ``z1 = z + h k1 + dz``: ``f + J dz`` (off by ``O(|dz|^2)`` and
        by ``J``'s age times ``|dz|``, within the tolerance; an evaluation of the model at ``z1`` cost ~13 % of
        the stepping: docs/scale.md). Patient axis last."""
        jac_l = [jac[i] for i in range(jac.shape[0])]
        lu = lu_plan.factor(jac_l, GAMMA * h)
        k1 = lu_plan.solve(lu, f0 + (GAMMA * h) * f_t)
        f = f_batch(model, events, tb, x1, z + h * k1)
        k2 = lu_plan.solve(lu, f - 2.0 * k1 - (GAMMA * h) * f_t)
        dz = h * (0.5 * k1 + 0.5 * k2)
        return z + h * (1.5 * k1 + 0.5 * k2), dz, f + lu_plan.matvec(jac_l, dz)

    hs = base_h * 2.0 ** jnp.arange(n_classes, dtype=dtype)
    q_max = jnp.asarray(2.0 ** (n_classes + 1), dtype)
    n_save = saves.shape[0]
    bits = jnp.iinfo(itype).bits
    none = jnp.asarray(jnp.iinfo(itype).max, itype)

    def attempt(c):
        tu, k, j, x, z, jac, jac_tu, since, rejected, out, alive, n_acc, n_rej = c
        t = tu.astype(dtype) * base_h
        # the step class: the controller's, at most the class that ends on the next discontinuity, at most
        # the one that covers ``n_slots`` pending save times, and ``k_mark`` (a short step) at a discontinuity
        at_mark = jnp.any(marks_u == tu)
        k_try = jnp.minimum(jnp.where(at_mark, jnp.minimum(k, k_mark), k), k_max)
        d_mark = jnp.min(jnp.where(marks_u > tu, marks_u, none)) - tu
        k_fit = (bits - 1 - jax.lax.clz(d_mark)).astype(itype)  # floor(log2(d_mark)): the step ends on or before it
        s_cap = saves[jnp.minimum(j + n_slots, n_save - 1)]  # the first save time the step must stay short of
        q = jnp.minimum((s_cap - t) / base_h * (1.0 - 1e-9), q_max)
        k_save = jnp.maximum(jnp.ceil(jnp.log2(jnp.maximum(q, 1.0))) - 1.0, 0.0).astype(itype)
        k_step = jnp.maximum(jnp.minimum(jnp.minimum(k_try, k_fit), k_save), 0)
        h = hs[k_step]
        ta, tb = t + delta, t + h - delta
        # a fresh Jacobian at a discontinuity, after a rejected step and every ``jac_every`` steps (not twice at
        # one point): its pattern's entries, (nnz, B). One branch for the whole batch: the controller is the
        # batch's, not the patients'.
        refresh = (jac_tu != tu) & (at_mark | rejected | (since >= jac_every))
        # the PK block, exactly (unrolled products, :func:`matvec`: neither a tiny GEMV per patient nor a reduction)
        b_a = inputs_at(ta)
        w_c = jax.lax.dynamic_index_in_dim(w_tab, k_step, 0, keepdims=False)

        def propagate(x):
            """``E(h) x`` group by group (:func:`pk_groups`), reading the step class's columns in place."""
            part = {}
            for (r, c), e_g in zip(pk_groups, e_groups):
                y = matvec_at(e_g, k_step, jnp.stack([x[j] for j in c]))
                part.update({i: y[q] for q, i in enumerate(r)})
            return jnp.stack([part[i] for i in range(x.shape[0])])

        if iv_only:  # infusions only: the input is constant on a step (none crosses a start or a stop)
            x1 = propagate(x) + matvec(w_c, b_a)  # w_tab summed over the nodes
        else:  # depot outflows vary within a step: at the quadrature nodes
            b_nodes = jax.vmap(inputs_at)(t + nodes * h)  # (3, r, B)
            x1 = propagate(x) + sum(matvec(w_c[i], b_nodes[i]) for i in range(b_nodes.shape[0]))
        x_dot = pk_rate_read(x, b_a)
        f0, f_t, compressed = derivatives(x, x_dot, z, ta, refresh)
        jac = jnp.where(refresh, lu_plan.entries_of(compressed), jac)
        t1 = t + h
        pending = saves[jnp.minimum(j, n_save - 1)] <= t1 + delta  # the step holds a save time

        def judge(z1, dz):
            """The batch's error (RMS over the non-PK states per patient, the worst patient's) and whether the step
            is accepted. A patient that turns non-finite or diverges rejects the step, unless it is already the
            shortest (then the patient is flagged and left out from there on)."""
            scale = atol + rtol * jnp.maximum(jnp.abs(z), jnp.abs(z1))
            e_p = jnp.sqrt(jnp.mean((dz / scale) ** 2, axis=0))
            sane = (
                jnp.all(jnp.isfinite(x1) & (jnp.abs(x1) < DIVERGED), axis=0)
                & jnp.all(jnp.isfinite(z1) & (jnp.abs(z1) < DIVERGED), axis=0)
                & jnp.isfinite(e_p)
            )
            err = jnp.max(jnp.where(alive, jnp.where(sane, e_p, jnp.inf), 0.0))
            return err, (err <= 1.0) | (k_step == 0), sane

        z1, dz, f1 = pd_step(x1, z, tb, h, jac, f0, f_t)
        err, accept, sane = judge(z1, dz)

        def save(out):
            """Cubic Hermite interpolation of the pending save times in (t, t + h] (the derivatives at the step's
            ends: right limit at its start, left limit at its end)."""
            y_0, y_1 = jnp.concatenate([x, z]), jnp.concatenate([x1, z1])
            d_0 = h * jnp.concatenate([pk_rate(x, b_a), f0])
            d_1 = h * jnp.concatenate([pk_rate(x1, b_a if iv_only else inputs_at(tb)), f1])
            written = jnp.zeros((), itype)
            for s in range(n_slots):
                i = jnp.minimum(j + s, n_save - 1)
                ts_ = saves[i]
                write = (j + s < n_save) & (ts_ <= t1 + delta)
                th = jnp.clip((ts_ - t) / h, 0.0, 1.0)
                th2, th3 = th * th, th * th * th
                row = (
                    (2 * th3 - 3 * th2 + 1) * y_0
                    + (th3 - 2 * th2 + th) * d_0
                    + (3 * th2 - 2 * th3) * y_1
                    + (th3 - th2) * d_1
                )
                old = jax.lax.dynamic_index_in_dim(out, i, 0, keepdims=False)
                out = jax.lax.dynamic_update_index_in_dim(out, jnp.where(write, row, old), i, 0)
                written = written + write.astype(itype)
            return out, written

        due = accept & pending
        out, written = jax.lax.cond(due, save, lambda o: (o, jnp.zeros((), itype)), out)
        # the controller (ROS2's estimate is O(h^2): factor err^-1/2); steps halve or double, so that they stay
        # in the classes the propagators were made for
        factor = 0.9 / jnp.sqrt(jnp.maximum(err, 1e-12))
        capped = k_step < k_try
        k_acc = jnp.where(factor >= 2.0, k_step + 1, k_step)
        k_acc = jnp.where(capped & (factor >= 1.0), jnp.maximum(k_acc, k_try), k_acc)
        down = jnp.clip(jnp.ceil(-jnp.log2(jnp.minimum(factor, 0.5))), 1.0, 4.0).astype(itype)
        k_new = jnp.minimum(jnp.where(accept, k_acc, jnp.maximum(k_step - down, 0)), k_max)
        sel = lambda new, old: jnp.where(accept, new, old)  # noqa: E731
        return (
            sel(tu + (jnp.ones((), itype) << k_step), tu),
            k_new,
            j + written,
            sel(x1, x),
            sel(z1, z),
            jac,
            jnp.where(refresh, tu, jac_tu),
            jnp.where(refresh, 0, since) + accept.astype(itype),
            ~accept,
            out,
            alive & (sane | ~accept),
            n_acc + accept,
            n_rej + ~accept,
        )

    n_b = x0.shape[1]
    out0 = jnp.broadcast_to(jnp.concatenate([x0, z0])[None], (n_save, pk.size + pd.size, n_b))
    jac0 = jnp.zeros((len(lu_plan.entries), n_b), dtype)
    zero = jnp.zeros((), itype)
    carry0 = (
        zero,
        k_mark,
        j0,
        x0,
        z0,
        jac0,
        -jnp.ones((), itype),
        zero,
        jnp.asarray(False),
        out0,
        jnp.ones(n_b, bool),
        zero,
        zero,
    )
    final = jax.lax.while_loop(lambda c: c[0] < end_u, attempt, carry0)
    y_lp, alive, n_acc, n_rej = final[9], final[10], final[11], final[12]
    y_fz = jnp.zeros((n_save, frozen.size, n_b), dtype)
    order = np.argsort(np.concatenate([pk, pd, frozen]))  # back to the model's state order
    ys = jnp.moveaxis(jnp.concatenate([y_lp, y_fz], axis=1)[:, order], -1, 0)  # (B, T, n)
    # finite and within DIVERGED of zero: a step that lost stability shows as huge, not always as inf/NaN
    sane = alive & jnp.all(jnp.isfinite(ys) & (jnp.abs(ys) < DIVERGED), axis=(1, 2))
    status = jnp.where(
        sane, jnp.where(leak > 0, PatientStatus.solver_failed, PatientStatus.ok), PatientStatus.non_finite
    )
    return ys, jax.vmap(lambda m, y: m.readouts(y))(model, ys), status, jnp.stack([n_acc, n_rej])


@eqx.filter_jit
def _setup(model, events, marks_u, cols, col_mask, base_h, delta, pk, frozen, pd, pk_groups):
    return _setup_impl(
        model, events, marks_u, cols, col_mask, base_h, delta, pk=pk, frozen=frozen, pd=pd, pk_groups=pk_groups
    )


@eqx.filter_jit
def _solve_batch(
    model,
    events,
    a,
    bm_r,
    leak,
    x0,
    z0,
    marks_u,
    saves,
    j0,
    cols,
    col_mask,
    base_h,
    delta,
    k_max,
    k_mark,
    tol,
    pk,
    frozen,
    pd,
    reads,
    lu_plan,
    n_classes,
    n_sub,
    n_slots,
    jac_every,
    iv_only,
    pk_groups,
):
    return _solve_batch_impl(
        model,
        events,
        a,
        bm_r,
        leak,
        x0,
        z0,
        marks_u,
        saves,
        j0,
        cols,
        col_mask,
        base_h,
        delta,
        k_max,
        k_mark,
        tol,
        pk=pk,
        frozen=frozen,
        pd=pd,
        reads=reads,
        lu_plan=lu_plan,
        n_classes=n_classes,
        n_sub=n_sub,
        n_slots=n_slots,
        jac_every=jac_every,
        iv_only=iv_only,
        pk_groups=pk_groups,
    )


def regimen_marks(model, regimen):
    """``(starts, ends, session_ends)`` of the regimen's inputs, hours (needs the batched model for the
    clinic session's length)."""
    sess = np.unique(np.asarray(model.session_min_h, dtype=float).ravel())
    starts = np.array([e.time_h for e in regimen.events], dtype=float)
    ends = np.array([e.time_h + e.duration_h for e in regimen.events], dtype=float)
    session_ends = (starts[:, None] + sess[None, :]).ravel() if starts.size else np.zeros(0)
    return starts, ends, session_ends


def plan(model, regimen, saveat, settings: Fast = Fast()) -> TimeBase:
    """The time base for ``regimen`` saved at ``saveat`` (needs the batched model for the session length)."""
    return time_base(saveat, *regimen_marks(model, regimen), min_h=settings.min_h)


def save_slots(saveat, base_h: float) -> int:
    """Save times one step may cover: 2, or more where save times are closer than the shortest step (a save time
    listed twice counts twice)."""
    s = np.sort(np.asarray(saveat, dtype=float))
    most = int(np.max(np.searchsorted(s, s + base_h, side="right") - np.arange(s.size))) if s.size else 1
    return max(2, most)


def simulate_fast(
    model,
    regimen,
    cohort: Cohort,
    saveat,
    settings: Fast = Fast(),
    progress: Callable[[int], None] | None = None,
    stats: list | None = None,
):
    """:meth:`Fast.run`: the fast engine with ``settings``; same :class:`Simulation` as every engine.
    ``saveat`` sorted (``simulate`` checks it). ``stats``: if given, gets ``(accepted, rejected)`` steps per batch."""
    ts = np.asarray(saveat, dtype=float)
    n = len(cohort)
    dtype = jax.dtypes.canonicalize_dtype(np.float64)  # float32 unless x64 (no eager JAX: each compiles a program)
    itype = jax.dtypes.canonicalize_dtype(np.int64)
    n_ev = _bucket(len(regimen.events), 8)
    batch = settings.batch_size(n)
    head = cohort.take(np.arange(min(n, 4)))  # the set-up's probe patients
    probe = Model.build(model, head, host=True)
    ev_probe = np.asarray(regimen.event_array(head.table["weight_kg"].to_numpy(), n_ev), dtype)
    # set-up kernels run once: compile time counts
    quick = compile_options(wide=True, quick=True)
    y0s = np.asarray(kernels.call("fast_initial", _initial_states, (probe,), (), quick))  # (probe patients, states)
    n_states = y0s.shape[1]
    pk = pk_indices(n_states)
    pd = np.setdiff1d(np.arange(n_states), pk)
    # nudge the stage times inside the step so that inputs switching at a boundary are seen from the right side
    eps = float(jnp.finfo(dtype).eps)
    delta = max(1e-9, 8.0 * eps * float(max(ts.max(), 1.0)))
    prepared = {}

    def prepare(ind):
        """Time base and static settings for a batch (cached by the batch's clinic-session lengths)."""
        key = tuple(np.unique(np.asarray(ind.session_min_h, dtype=float)).tolist())
        if key not in prepared:
            tb = plan(ind, regimen, ts, settings)
            if tb.end_u >= np.iinfo(itype).max // 4:
                raise NeuroplastInputError(
                    f"the fast engine cannot count this horizon in steps of {tb.base_h * 3.6e6:g} ms with 32-bit "
                    "integers (float32 mode): enable float64 (jax_enable_x64), shorten the horizon or round the dose "
                    "times to whole minutes",
                    field="saveat",
                    value=f"{ts.max():g} h",
                )
            starts, ends, _ = regimen_marks(ind, regimen)
            # every dose's input is on at its quarter and middle points (they catch the PK rows it enters); of the
            # save times at most PROBE_SAVES, evenly spread (every save time cost ~10 ms per run at 6-hourly saves
            # over 12 weeks: ~4 % of a 768-patient run)
            ts_p = ts[np.unique(np.linspace(0, ts.size - 1, min(ts.size, PROBE_SAVES)).astype(int))] if ts.size else ts
            probe_t = np.unique(np.concatenate([ts_p, 0.5 * (starts + ends), starts + 0.25 * (ends - starts)]))
            # one look at the vector field: the first patient at probe_points (the PK block's check), each probe
            # patient at its initial state at t = 0 (how the PK states feed each other), and at probe_t with the
            # PK states at zero (which PK rows the regimen doses)
            n_p = ev_probe.shape[0]
            t_chk, y_chk = probe_points(y0s[0], probe_t)
            y_in = np.repeat(y0s, probe_t.size, axis=0)
            y_in[:, pk] = 0.0
            idx = np.concatenate([np.zeros(t_chk.size, int), np.arange(n_p), np.repeat(np.arange(n_p), probe_t.size)])
            # through the kernel store like the solve; it runs once on a few points, so compile time is all that
            # counts (XLA's optimisation level 0)
            t_in = np.concatenate([t_chk, np.zeros(n_p), np.tile(probe_t, n_p)])
            y_all = np.concatenate([y_chk, y0s, y_in])
            points = (np.asarray(idx, itype), np.asarray(t_in, dtype), np.asarray(y_all, dtype))
            jac, f = (np.asarray(v) for v in kernels.call("fast_probe", _probe, (probe, ev_probe, *points), (), quick))
            j0, b = jac[t_chk.size : t_chk.size + n_p], f[t_chk.size + n_p :][:, pk]
            verify_pk_block(jac[: t_chk.size], pk)
            rows = np.flatnonzero(np.any(b != 0.0, axis=0))  # the PK rows the regimen doses (at least one)
            rows = rows if rows.size else np.array([0])
            a_pk = np.sum(np.abs(j0[:, pk][:, :, pk]), axis=0)
            live = _reachable(a_pk, rows, y0s[0, pk])
            reads = read_rows(jac[: t_chk.size + n_p], pk, pd, live)
            lu_plan = Plan.of(pattern_of(jac[:, pd][:, :, pd]))  # the non-PK Jacobian's non-zeros, at every probe
            cols, mask = _pad_rows(np.searchsorted(live, rows))
            groups = pk_groups(a_pk[np.ix_(live, live)])
            a_norm = float(np.max(np.sum(a_pk[np.ix_(live, live)], axis=0)) / ev_probe.shape[0])
            n_sub = substeps(8.0 * a_norm, tb.base_h)  # x8: room for the random effects
            k_max = max(0, int(math.floor(math.log2(max(settings.coarse_h / tb.base_h, 1.0)))))
            k_mark = max(0, int(math.floor(math.log2(max(settings.fine_h / tb.base_h, 1.0)))))
            n_slots = save_slots(ts, tb.base_h)
            saves = np.concatenate([ts, np.full(_bucket(ts.size + n_slots + 1, 64) - ts.size, np.inf)])
            marks = np.concatenate([tb.marks_u, np.full(_bucket(tb.marks_u.size, 16) - tb.marks_u.size, tb.end_u)])
            marks_a, cols_a, mask_a = np.asarray(marks, itype), np.asarray(cols, itype), np.asarray(mask, dtype)
            base_a, delta_a = np.asarray(tb.base_h, dtype), np.asarray(delta, dtype)
            live_pk, frozen_pk, pd_t = tuple(pk[live].tolist()), tuple(np.delete(pk, live).tolist()), tuple(pd.tolist())
            iv_only = not regimen.sessions and all(d.route == "iv" for d in regimen.doses)
            prepared[key] = dict(
                setup=((marks_a, cols_a, mask_a, base_a, delta_a), (live_pk, frozen_pk, pd_t, groups)),
                loop=(
                    (
                        marks_a,
                        np.asarray(saves, dtype),
                        np.asarray(int(np.sum(ts <= 0.0)), itype),
                        cols_a,
                        mask_a,
                        base_a,
                        delta_a,
                        np.asarray(k_max, itype),
                        np.asarray(k_mark, itype),
                        np.asarray([settings.rtol, settings.atol], dtype),
                    ),
                    (
                        live_pk,
                        frozen_pk,
                        pd_t,
                        reads,
                        lu_plan,
                        _bucket(k_max + 1, 4),
                        n_sub,
                        n_slots,
                        settings.jac_every,
                        iv_only,
                        groups,
                    ),
                ),
            )
        return prepared[key]

    def cast(ind):  # on the host (numpy leaves from run_batches): no eager JAX per leaf
        return jax.tree_util.tree_map(lambda x: np.asarray(x, dtype) if np.issubdtype(x.dtype, np.floating) else x, ind)

    def setup_args(ind, events):
        arrays, static = prepare(ind)["setup"]
        return "fast_setup", (ind, events, *arrays), static, quick

    first = {"batch": True}  # the first batch looks at whether the kernels still have to be compiled (pop: atomic)

    def solve(ind, events):
        # two kernels through the kernel store (neuroplast.engine.kernels: a later process neither traces nor compiles):
        # what is read off the model once per batch, compiled at XLA's level 0 (its compile time is what counts),
        # then the stepping
        name, dynamic, static, options = setup_args(ind, events)
        arrays, loop_static = prepare(ind)["loop"]
        if first.pop("batch", False) and not kernels.ran(name, dynamic, static, options):
            # cold: the stepping kernel is traced and compiled on another thread from the set-up's output shapes
            # while this one compiles and runs the set-up (~0.3 s of the cold start; docs/scale.md)
            shapes = kernels.out_shapes(name, _setup, dynamic, static, options)
            if shapes is not None:
                kernels.compile_ahead(
                    "fast_batch", _solve_batch, (ind, *shapes, *arrays), loop_static, compile_options(wide=True)
                )
        tables = kernels.call(name, _setup, dynamic, static, options)
        ys, ro, status, steps = kernels.call(
            "fast_batch", _solve_batch, (ind, *tables, *arrays), loop_static, compile_options(wide=True)
        )
        if stats is not None:
            stats.append(tuple(int(s) for s in np.asarray(steps)))
        return ys, ro, status

    def warm(ind, events):
        # the set-up's shapes and static values fix the stepping kernel's (a solve runs both, in order)
        return kernels.ran(*setup_args(ind, events))

    return run_batches(model, regimen, cohort, ts, batch, n_ev, solve, progress, prepare=cast, dtype=dtype, warm=warm)


def pk_groups(a_abs: np.ndarray) -> tuple:
    """Where ``E = exp(h A)`` of the live PK block can be non-zero, as groups ``(rows, columns)`` (positions in the
    block; ``a_abs[i, j] > 0``: state ``j`` feeds state ``i``). The sinks (states others feed and no other state
    of the block reads: effect sites, eliminated amounts) are set aside; the rest fall into blocks that do not
    feed each other (the ketamine family: the S- and the R-enantiomer with their metabolites), each reading its
    own columns; the sinks fed by the same blocks form a group that reads those blocks' columns and its own.
    ``E`` is structurally zero elsewhere (no path in ``A``'s graph), so the propagation leaves those terms out:
    for the ketamine family 114 products per patient and step instead of 17 x 17 = 289. A dense ``A`` is one
    group."""
    n = a_abs.shape[0]
    off = (np.asarray(a_abs) > 0.0) & ~np.eye(n, dtype=bool)
    sinks = [i for i in range(n) if not np.any(off[:, i]) and np.any(off[i])]  # an isolated state is a block of its own
    rest = np.asarray([i for i in range(n) if i not in sinks], dtype=int)
    _, label = connected_components(off[np.ix_(rest, rest)], directed=True, connection="weak")
    block = {int(i): tuple(int(k) for k in rest[label == label[q]]) for q, i in enumerate(rest)}
    groups = [(b, b) for b in sorted(set(block.values()))]
    by_feed: dict[tuple, list] = {}
    for s in sinks:  # a sink reads the blocks that feed it (every path into it starts in one)
        feed = tuple(sorted(set().union(*[block[j] for j in np.flatnonzero(off[s]) if j in block])))
        by_feed.setdefault(feed, []).append(s)
    for feed, rows in sorted(by_feed.items()):
        groups.append((tuple(rows), tuple(sorted(set(feed) | set(rows)))))
    return tuple(groups)


def covered(groups: tuple, n: int) -> np.ndarray:
    """(n, n) bool: the entries of ``E`` that the groups of :func:`pk_groups` compute. A patient's ``A`` with a
    non-zero outside them (a rate that is zero in every probe patient but not in this one) would lose terms: the
    engine flags that patient ``solver_failed``."""
    mask = np.zeros((n, n), bool)
    for rows, cols in groups:
        mask[np.ix_(rows, cols)] = True
    return mask


def _pad_rows(rows: np.ndarray):
    """``rows`` padded to a multiple of 4 (few compiled shapes), with a mask of the real ones."""
    r = _bucket(rows.size, 4)
    cols = np.concatenate([rows, np.full(r - rows.size, rows[0])])
    return cols, np.concatenate([np.ones(rows.size), np.zeros(r - rows.size)])


def _reachable(a_abs: np.ndarray, rows: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Sorted positions of the PK states the inputs (``rows``) or a non-zero initial state reach through the
    linear block (``a_abs[i, j] > 0``: state ``j`` feeds state ``i``). The others stay at their initial value
    (zero: a drug the regimen does not give); the engine checks that per patient (``stray`` in the kernel)."""
    start = np.zeros(a_abs.shape[0], bool)
    start[rows] = True
    start |= x0 != 0.0
    feeds = np.asarray(a_abs > 0.0).T  # feeds[j, i]: an edge j -> i
    dist = dijkstra(feeds, directed=True, indices=np.flatnonzero(start), unweighted=True)
    return np.flatnonzero(np.any(np.isfinite(dist), axis=0)).astype(np.int64)
