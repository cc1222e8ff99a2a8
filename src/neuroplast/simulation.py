"""The front door: ``simulate(model, regimen, cohort, *, saveat, solver)``.

*What* is positional (the population model, the regimen, the cohort); *how* is keyword-only
(save times, solver settings). Patients are solved together with ``vmap`` in padded batches
of fixed size, so one compiled function serves every cohort size and arm.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import itertools
import os
import threading
from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _kernels, _memory, parameters
from ._errors import NeuroplastInputError, PatientStatus
from .cohort import Cohort, individualize
from .model import STATE_NAMES, Model
from .regimen import Regimen


@dataclasses.dataclass(frozen=True)
class PopulationModel:
    """Typical parameter values and between-patient variability (from the registry)."""

    values: dict
    cvs: dict

    def with_values(self, **changes: float) -> PopulationModel:
        unknown = set(changes) - set(self.values)
        if unknown:
            raise NeuroplastInputError(f"unknown parameter(s) {sorted(unknown)}", field="model.values")
        return PopulationModel({**self.values, **changes}, self.cvs)


def default_model() -> PopulationModel:
    """The calibrated model: registry values with the committed fitted values applied."""
    return PopulationModel(parameters.values(), parameters.cvs())


@dataclasses.dataclass(frozen=True)
class Solver:
    """Adaptive Tsit5 with a PID step-size controller that stops at every infusion start/stop.

    Tolerances are relative/absolute on states whose scale is ~1 (signalling, spines, mood)
    or ~1-100 umol (drug amounts).
    """

    rtol: float = 1e-6
    atol: float = 1e-9
    method: str = "tsit5"  # "tsit5" (explicit) | "kvaerno5" (implicit) | "fast" (closed-form PK, error-controlled Rosenbrock-W: neuroplast.engine)
    max_steps: int = 200_000
    batch: int | None = None  # patients per compiled batch (cohorts are padded to a multiple of it); None: the
    # engine's own (batch_size: 256 for tsit5/kvaerno5; "fast" 64 on the CPU, 32,768 on a GPU)


@dataclasses.dataclass(frozen=True)
class Simulation:
    times_h: np.ndarray  # (T,)
    states: np.ndarray  # (n, T, n_states)
    readouts: dict  # name -> (n, T)
    status: np.ndarray  # (n,) PatientStatus codes
    cohort: Cohort
    regimen: Regimen

    @property
    def ok(self) -> np.ndarray:
        return self.status == PatientStatus.ok

    def to_xarray(self):
        import xarray as xr

        from .model import READOUT_UNITS, STATE_UNITS

        ds = xr.Dataset(coords={"patient": np.arange(len(self.status)), "time_h": self.times_h})
        for i, name in enumerate(STATE_NAMES):
            ds[f"state_{name}"] = (
                ("patient", "time_h"),
                self.states[:, :, i].astype(np.float32),
                {"units": STATE_UNITS[i]},
            )
        for name, arr in self.readouts.items():
            ds[name] = (
                ("patient", "time_h"),
                np.asarray(arr, dtype=np.float32),
                {"units": READOUT_UNITS.get(name, "")},
            )
        ds["status"] = (
            "patient",
            self.status.astype(np.int8),
            {"meaning": ", ".join(f"{s.value}={s.name}" for s in PatientStatus)},
        )
        ds["time_h"].attrs["units"] = "h from the first dose"
        return ds


_METHODS = {"tsit5": diffrax.Tsit5, "kvaerno5": diffrax.Kvaerno5}


WINDOW_MIN_EVENTS = 32
"""Event tables longer than this are read through a moving window (see :func:`event_window`)."""


def event_window(regimen: Regimen, values: dict, n_ev: int) -> tuple[float, int | None]:
    """``(lookback_h, k)``: at time ``t`` only the ``k`` event rows from the first that starts after
    ``t - lookback_h`` can contribute, so the right-hand side reads those instead of the whole table.

    An event contributes while it runs (infusion, session, the clinic's minimum session) and, through a
    first-order depot, for ``exp(-ka (t - end))`` after it: ``45 / ka_min`` hours later that factor is
    e^-45 ~ 3e-20, far below float64 rounding of the sum. ``k`` (a power of two, >= 8) is checked here
    against every dose time of the regimen, so no window ever misses a live event; ``k = None`` (read the
    whole table) for tables of at most :data:`WINDOW_MIN_EVENTS` rows, where a window saves nothing
    (and those regimens, the ketamine trials, keep their results bit for bit).
    """
    if n_ev <= WINDOW_MIN_EVENTS or not regimen.doses:
        return 0.0, None
    ka_min = min(v for name, v in values.items() if name.startswith("ka_") and v > 0)
    d_max = max(max(d.duration_h for d in regimen.doses), values["session_min"] / 60.0)
    lookback = 45.0 / ka_min + d_max
    starts = np.array([d.time_h for d in regimen.doses])  # sorted: the regimen keeps doses in time order
    live = np.arange(starts.size) - np.searchsorted(starts, starts - lookback) + 1  # starts in [t_i - lookback, t_i]
    k = max(8, 1 << int(live.max() - 1).bit_length())
    return (lookback, k) if k < n_ev else (0.0, None)


def _window(events, t, lookback, k):
    """The ``k`` rows of the start-sorted event table from the first that starts at or after ``t - lookback``."""
    i0 = jnp.clip(jnp.searchsorted(events[:, 0], t - lookback), 0, events.shape[0] - k)
    return jax.lax.dynamic_slice_in_dim(events, i0, k, axis=0)


def _solve_one(model: Model, events, ts, jump_ts, t1, rtol, atol, lookback, method, max_steps, k):
    table = model.input_table(events)  # what depends only on the events, worked out once per solve
    if k is None:
        term = diffrax.ODETerm(lambda t, y, args: model.rhs(t, y, args))
    else:
        term = diffrax.ODETerm(lambda t, y, args: model.rhs(t, y, _window(args, t, lookback, k)))
    controller = diffrax.PIDController(rtol=rtol, atol=atol, jump_ts=jump_ts)
    sol = diffrax.diffeqsolve(
        term,
        _METHODS[method](),
        t0=0.0,
        t1=t1,
        dt0=1.0 / 60.0,
        y0=model.initial_state(),
        args=table,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=controller,
        max_steps=max_steps,
        throw=False,
    )
    ys = sol.ys
    ok = sol.result == diffrax.RESULTS.successful
    finite = jnp.all(jnp.isfinite(ys))
    status = jnp.where(ok, jnp.where(finite, PatientStatus.ok, PatientStatus.non_finite), PatientStatus.solver_failed)
    return ys, model.readouts(ys), status


@eqx.filter_jit
def _solve_batch(model, events, ts, jump_ts, t1, rtol, atol, lookback, method, max_steps, k):
    return jax.vmap(_solve_one, in_axes=(0, 0, None, None, None, None, None, None, None, None, None))(
        model, events, ts, jump_ts, t1, rtol, atol, lookback, method, max_steps, k
    )


def _bucket(n: int, step: int) -> int:
    return max(step, -(-n // step) * step)


def batch_size(solver: Solver, n: int, fast_settings=None) -> int:
    """Patients per compiled batch for a cohort of ``n``: ``solver.batch`` if set, else the engine's own — 256 for
    the adaptive engines; for ``"fast"``, ``FastSettings.batch`` (64, measured) on the CPU and
    ``FastSettings.device_batch`` on a GPU (its patients also share a step size: neuroplast.engine). At most ``n``
    rounded up to a multiple of 8."""
    if solver.batch:
        b = solver.batch
    elif solver.method == "fast":
        from .engine import FastSettings

        settings = FastSettings() if fast_settings is None else fast_settings
        b = settings.batch if jax.default_backend() == "cpu" else settings.device_batch
    else:
        b = 256
    return min(b, _bucket(n, 8))


def simulate(
    model: PopulationModel,
    regimen: Regimen,
    cohort: Cohort,
    *,
    saveat,
    solver: Solver = Solver(),
    progress: Callable[[int], None] | None = None,
) -> Simulation:
    """Simulate every patient of ``cohort`` under ``regimen``; save at ``saveat`` (hours, >= 0).

    Returns a :class:`Simulation`. A patient whose solve fails (step limit, non-finite state)
    is flagged in ``status``; the run goes on. ``progress(k)`` is called after each batch with
    the number of patients done in it.
    """
    ts = np.asarray(saveat, dtype=float)
    if ts.ndim != 1 or ts.size == 0 or np.any(ts < 0) or np.any(np.diff(ts) < 0):
        raise NeuroplastInputError("save times must be a non-empty, sorted list of times >= 0", field="saveat")
    if solver.method == "fast":  # closed-form PK + Rosenbrock-W (its own FastSettings: rtol/atol/max_steps unused)
        from .engine import simulate_fast

        return simulate_fast(model, regimen, cohort, ts, solver, progress)
    n = len(cohort)
    # Fixed shapes -> one compilation: pad events to a multiple of 8, times to a multiple of 64.
    n_ev = max(8, 1 << (len(regimen.doses) - 1).bit_length())  # powers of two: few shapes for long daily regimens
    t_pad = _bucket(ts.size, 64)
    ts_p = np.concatenate([ts, np.full(t_pad - ts.size, ts[-1])])
    jumps = regimen.discontinuities(model.values["session_min"] / 60.0)
    jumps = np.concatenate([jumps, np.full(_bucket(jumps.size, 16) - jumps.size, 1e12)])
    t1 = float(ts[-1]) if ts[-1] > 0 else 1e-6
    batch = batch_size(solver, n)
    lookback, k = event_window(regimen, model.values, n_ev)

    def args(ind, events):
        # t1 and the tolerances go in as arrays (traced), so a new end time or tolerance does not recompile
        return (
            "solve_batch",
            (
                ind,
                events,
                jnp.asarray(ts_p),
                jnp.asarray(jumps),
                jnp.asarray(t1),
                jnp.asarray(solver.rtol),
                jnp.asarray(solver.atol),
                jnp.asarray(lookback),
            ),
            (solver.method, solver.max_steps, k),
            _kernels.compile_options(),
        )

    def solve(ind, events):
        name, dynamic, static, options = args(ind, events)
        return _kernels.call(name, _solve_batch, dynamic, static, options)

    return run_batches(
        model,
        regimen,
        cohort,
        ts,
        batch,
        n_ev,
        solve,
        progress,
        warm=lambda ind, events: _kernels.ran(*args(ind, events)),
    )


def batch_threads() -> int:
    """Batches solved at once, each on its own thread (the compiled solve releases the GIL; one batch keeps
    about one core busy): ``NEUROPLAST_THREADS`` if set; else, on the CPU, two per core this process may use, at
    most 8 (each batch has serial parts — its Python, the set-up, the copies out — that a second thread per core
    fills: 768 and 2,048 patients through the fast engine on 2 cores 7–10 % faster than one thread per core,
    Tsit5 no slower; docs/scale.md); on an accelerator, one per core, at most 4."""
    env = os.environ.get("NEUROPLAST_THREADS")
    if env:
        if not env.strip().isdigit():
            raise NeuroplastInputError("must be a whole number of threads", field="NEUROPLAST_THREADS", value=env)
        return max(1, int(env))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, 2 * cores) if jax.default_backend() == "cpu" else min(4, cores))


def run_batches(
    model: PopulationModel,
    regimen: Regimen,
    cohort: Cohort,
    ts,
    batch: int,
    n_ev: int,
    solve,
    progress=None,
    prepare=lambda ind: ind,
    dtype=None,
    warm=None,
) -> Simulation:
    """Solve ``cohort`` in padded batches of ``batch`` patients (fixed shapes: one compilation) with
    ``solve(ind, events) -> (ys, readouts, status)``; ``prepare`` may recast a batch's model, ``dtype`` its events.

    The batches run on :func:`batch_threads` threads, in order. A kernel that still has to be traced and
    compiled gets the first batch alone (compiled once, not once per thread); ``warm(ind, events)`` says whether
    ``solve`` on the first batch would compile nothing (:func:`neuroplast._kernels.ran`), and then every batch
    goes on the threads at once (two batches take one batch's time on two cores instead of two)."""
    n = len(cohort)
    # every patient's parameters at once, on the host; a batch takes its rows (individualising batch by batch
    # cost ~3 ms of eager JAX per batch of 64, ~10 % of the fast engine's time on one thread)
    ind_all = individualize(model.values, cohort, host=True)
    weights = cohort.table["weight_kg"].to_numpy()
    ev_dtype = jax.dtypes.canonicalize_dtype(np.float64 if dtype is None else dtype)  # float32 unless x64

    def inputs(lo):
        # numpy leaves: the compiled kernel takes them as they are (a jnp.asarray per leaf, ~100 eager transfers,
        # cost ~1 ms per batch of Python that holds the GIL)
        idx = np.arange(lo, min(lo + batch, n))
        pad_idx = np.concatenate([idx, np.full(batch - idx.size, idx[-1])])
        ind = prepare(jax.tree_util.tree_map(lambda x: x[pad_idx] if eqx.is_array(x) else x, ind_all))
        return idx, ind, np.asarray(regimen.event_array(weights[pad_idx], n_ev), ev_dtype)

    out: dict = {}
    lock = threading.Lock()

    def one(lo, given=None):
        """Solve the batch starting at patient ``lo`` and copy its rows into the cohort's arrays, on the batch's
        own thread (the copies overlap the other batches' solves instead of one concatenation at the end)."""
        idx, ind, events = inputs(lo) if given is None else given
        ys, ro, st = solve(ind, events)
        k = idx.size
        rows = lambda a: np.asarray(a)[:k] if np.ndim(a) == 1 else np.asarray(a)[:k, : ts.size]  # noqa: E731 - views
        parts = {"states": rows(ys), "status": rows(st), **{f"ro.{m}": rows(a) for m, a in ro.items()}}
        with lock:
            if not out:  # the first batch done gives the shapes
                out.update({m: _memory.empty((n, *a.shape[1:]), a.dtype) for m, a in parts.items()})
        for m, a in parts.items():
            out[m][lo : lo + k] = a
        return k

    starts = list(range(0, n, batch))
    first = inputs(starts[0])
    alone = [] if warm is not None and warm(first[1], first[2]) else [one(starts[0], first)]
    todo = starts[len(alone) :]
    workers = min(batch_threads(), len(todo))
    run = lambda lo: one(lo, first if lo == starts[0] else None)  # noqa: E731
    with concurrent.futures.ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        rest = pool.map(run, todo) if pool is not None else map(run, todo)
        for k in itertools.chain(alone, rest):  # in order
            if progress is not None:
                progress(k)
    readouts = {m[3:]: a for m, a in out.items() if m.startswith("ro.")}
    return Simulation(
        times_h=ts, states=out["states"], readouts=readouts, status=out["status"], cohort=cohort, regimen=regimen
    )
