"""What every engine shares: the :class:`Engine` interface, the :class:`Simulation` it returns, and the batch
runner that solves a cohort in padded batches on threads (:func:`run_batches`)."""

from __future__ import annotations

import abc
import concurrent.futures
import contextlib
import dataclasses
import itertools
import os
import threading
from collections.abc import Callable

import equinox as eqx
import jax
import numpy as np

from .._errors import NeuroplastInputError, PatientStatus
from ..cohort import Cohort
from ..model import READOUT_UNITS, STATE_NAMES, STATE_UNITS, Model
from ..parameters import PopulationModel
from ..regimen import Regimen
from . import memory


@dataclasses.dataclass(frozen=True)
class Simulation:
    """A cohort's trajectories: saved states, every scale's read-outs and each patient's status."""

    times_h: np.ndarray  # (T,)
    states: np.ndarray  # (n, T, n_states), in the order of neuroplast.model.STATE_NAMES
    readouts: dict  # name -> (n, T), units in neuroplast.model.READOUT_UNITS
    status: np.ndarray  # (n,) PatientStatus codes
    cohort: Cohort
    regimen: Regimen

    @property
    def ok(self) -> np.ndarray:
        return self.status == PatientStatus.ok

    def to_xarray(self):
        import xarray as xr

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


class Engine(abc.ABC):
    """An integrator for a cohort: an immutable object carrying exactly the settings it honours.

    ``batch``: patients per compiled batch (cohorts are padded to a multiple of it); ``None``: the engine's own
    (:meth:`batch_size`)."""

    batch: int | None

    @abc.abstractmethod
    def own_batch(self) -> int:
        """The engine's own batch size on this backend."""

    def batch_size(self, n: int) -> int:
        """Patients per compiled batch for a cohort of ``n``: ``batch`` if set, else :meth:`own_batch`; at most
        ``n`` rounded up to a multiple of 8."""
        return min(self.batch or self.own_batch(), bucket(n, 8))

    @abc.abstractmethod
    def run(
        self,
        model: PopulationModel,
        regimen: Regimen,
        cohort: Cohort,
        ts: np.ndarray,
        progress: Callable[[int], None] | None = None,
    ) -> Simulation:
        """Solve every patient of ``cohort``, saving at ``ts`` (hours, sorted, >= 0: checked by ``simulate``)."""


def check_batch(engine: Engine) -> None:
    """A batch the caller sets must be a positive whole number."""
    if engine.batch is not None and (not isinstance(engine.batch, int) or engine.batch < 1):
        raise NeuroplastInputError("must be a positive whole number or None", field="engine.batch", value=engine.batch)


def bucket(n: int, step: int) -> int:
    """``n`` rounded up to a multiple of ``step`` (at least ``step``): padded shapes, so one compile serves many
    sizes."""
    return max(step, -(-n // step) * step)


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
    ``solve`` on the first batch would compile nothing (:func:`neuroplast.engine.kernels.ran`), and then every
    batch goes on the threads at once (two batches take one batch's time on two cores instead of two)."""
    n = len(cohort)
    # every patient's parameters at once, on the host; a batch takes its rows (individualising batch by batch
    # cost ~3 ms of eager JAX per batch of 64, ~10 % of the fast engine's time on one thread)
    ind_all = Model.build(model, cohort, host=True)
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
        rows = lambda a: np.asarray(a)[:k] if np.ndim(a) == 1 else np.asarray(a)[:k, : ts.size]  # views
        parts = {"states": rows(ys), "status": rows(st), **{f"ro.{m}": rows(a) for m, a in ro.items()}}
        with lock:
            if not out:  # the first batch done gives the shapes
                out.update({m: memory.empty((n, *a.shape[1:]), a.dtype) for m, a in parts.items()})
        for m, a in parts.items():
            out[m][lo : lo + k] = a
        return k

    starts = list(range(0, n, batch))
    first = inputs(starts[0])
    alone = [] if warm is not None and warm(first[1], first[2]) else [one(starts[0], first)]
    todo = starts[len(alone) :]
    workers = min(batch_threads(), len(todo))
    run = lambda lo: one(lo, first if lo == starts[0] else None)
    with concurrent.futures.ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        rest = pool.map(run, todo) if pool is not None else map(run, todo)
        for k in itertools.chain(alone, rest):  # in order
            if progress is not None:
                progress(k)
    readouts = {m[3:]: a for m, a in out.items() if m.startswith("ro.")}
    return Simulation(
        times_h=ts, states=out["states"], readouts=readouts, status=out["status"], cohort=cohort, regimen=regimen
    )
