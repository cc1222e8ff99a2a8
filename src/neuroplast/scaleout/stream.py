"""Cohorts larger than memory: simulate chunk by chunk and stream every chunk to a Zarr store.

``stream_cohort`` wraps the front door: it calls :func:`neuroplast.simulate` on one chunk of
patients at a time and writes that chunk's read-outs (and optionally states), status codes and
covariates into ``DIR.partial/cohort.zarr`` before it draws the next one, so the footprint is one
chunk whatever the cohort size. A chunk is marked done (``chunk_done[i]``) only after its data are
written; an interrupted run continues with ``resume=True`` from the first chunk not marked done,
and gives the same numbers as an uninterrupted one: chunk ``i`` holds patients ``i * chunk`` onwards of
the arm's cohort (:func:`~neuroplast.cohort.sample_cohort` with ``start``), the same patients as the
trial's arm with this seed, whatever the chunk size. When every chunk is done the store and ``summary.json``
move into ``DIR``: nothing half-written is ever left in ``DIR`` itself.

Memory is linear in patients x saved times: :func:`bytes_per_patient` estimates it, and a request
whose chunk would not fit comfortably in the memory available is refused with the chunk size
that would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import jax
import numpy as np

from .. import __version__
from .._errors import NeuroplastInputError

if TYPE_CHECKING:
    from ..engine import Engine
    from ..parameters import PopulationModel
    from ..regimen import Regimen
    from ..trials import TrialSpec

MEMORY_FRACTION = 0.5  # plan chunks to use at most half of the memory available now
COPIES = 4  # live float64 copies of a chunk's (times x values), an upper bound: the batches' solver outputs, the
#   cohort's arrays, the conversion for the store (float32 runs need less)
STORE = "cohort.zarr"


def available_memory_bytes() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil comes with dask.distributed
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def bytes_per_patient(n_times: int) -> int:
    """Working memory of one patient in a cohort run saving ``n_times`` times (states and read-outs)."""
    from ..model import READOUT_UNITS, STATE_NAMES

    return int(n_times * (len(STATE_NAMES) + len(READOUT_UNITS)) * 8 * COPIES)


def largest_chunk(n_times: int, available: int | None = None) -> int:
    """The most patients one chunk may hold within :data:`MEMORY_FRACTION` of the available memory."""
    available = available_memory_bytes() if available is None else available
    return max(1, int(MEMORY_FRACTION * available // bytes_per_patient(n_times)))


def save_times(spec, regimen, every_h: float) -> np.ndarray:
    """Every spec timepoint, plus every ``every_h`` hours from 0 to the end of follow-up (h)."""
    tps = [h for _, h in spec.timepoints_h()]
    end = max(max(tps), regimen.last_dose_h + (spec.follow_up_h() or 0.0), 24.0)
    return np.unique(np.round(np.concatenate([[0.0], tps, np.arange(0.0, end + 1e-9, every_h)]), 9))


@dataclasses.dataclass(frozen=True)
class StreamResult:
    out: Path
    summary: dict


@dataclasses.dataclass(frozen=True)
class StreamPlan:
    """A validated streaming request (see :func:`plan_stream`)."""

    spec: TrialSpec
    out: Path
    arm: str
    regimen: Regimen
    model: PopulationModel
    engine: Engine
    times_h: np.ndarray
    patients: int
    chunk: int
    seed: int
    every_h: float
    states: bool
    fingerprint: str
    resume: bool = False

    @property
    def n_chunks(self) -> int:
        return -(-self.patients // self.chunk)


def plan_stream(
    spec,
    out,
    *,
    patients: int,
    chunk: int | None = None,
    arm: str | None = None,
    every_h: float = 24.0,
    seed: int | None = None,
    resume: bool = False,
    states: bool = False,
    engine=None,
    allow_high_dose: bool = False,
    available_bytes: int | None = None,
) -> StreamPlan:
    """Check a streaming request and fix its save times and chunk size (nothing is written yet).

    Without ``chunk`` the whole cohort is one chunk if it fits in memory; otherwise, and when a
    given ``chunk`` does not fit, a :class:`NeuroplastInputError` names the chunk size that would.
    """
    from ..cohort import BLOCK
    from ..engine import Tsit5
    from ..simulation import default_model

    out = Path(out)
    if patients < 1:
        raise NeuroplastInputError("the cohort needs at least one patient", field="--patients", value=patients)
    if chunk is not None and chunk < 1:
        raise NeuroplastInputError("a chunk holds at least one patient", field="--chunk", value=chunk)
    if not every_h > 0:
        raise NeuroplastInputError("the save interval must be positive", field="--every", value=every_h)
    if out.exists() and not out.is_dir():
        raise NeuroplastInputError("--out exists and is not a folder", field="--out", value=str(out))
    regimens = spec.regimens(allow_high_dose=allow_high_dose)
    name = arm or next(iter(regimens))
    if name not in regimens:
        raise NeuroplastInputError(f"no such arm; arms: {', '.join(regimens)}", field="--arm", value=arm)
    regimen = regimens[name]
    seed = spec.trial.seed if seed is None else seed
    ts = save_times(spec, regimen, every_h)
    fits = largest_chunk(ts.size, available_bytes)
    gib = bytes_per_patient(ts.size) / 2**30
    if chunk is None:
        if patients > fits:
            raise NeuroplastInputError(
                f"{patients} patients x {ts.size} saved times need about {patients * gib:.1f} GiB, more than "
                f"{MEMORY_FRACTION:.0%} of the memory available; stream it in chunks with --chunk {fits} "
                f"(or fewer), or save less often with --every",
                field="--patients",
                value=patients,
            )
        chunk = patients
    elif chunk > fits:
        raise NeuroplastInputError(
            f"a chunk of {chunk} patients x {ts.size} saved times needs about {chunk * gib:.1f} GiB, more than "
            f"{MEMORY_FRACTION:.0%} of the memory available; use --chunk {fits} or fewer",
            field="--chunk",
            value=chunk,
        )
    chunk = min(chunk, patients)
    model = default_model()
    engine = Tsit5() if engine is None else engine
    settings = {
        "spec": spec.model_dump(mode="json"),
        "arm": name,
        "patients": patients,
        "chunk": chunk,
        "every_h": every_h,
        "seed": seed,
        "states": states,
        "allow_high_dose": allow_high_dose,
        "engine": repr(engine),
        "model": model.values,
        "cohort_block": BLOCK,  # how patients are drawn (a run interrupted under another draw is not continued)
        "neuroplast_version": __version__,
        "float": 64 if jax.config.jax_enable_x64 else 32,  # type: ignore[attr-defined]  # JAX's flags are set dynamically
    }  # a resumed run keeps its precision
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()
    plan = StreamPlan(
        spec, out, name, regimen, model, engine, ts, patients, chunk, seed, every_h, states, fingerprint, resume
    )
    _open_partial(plan, create=False)  # an interrupted run that does not match is reported now
    return plan


def stream_cohort(
    spec,
    out,
    *,
    patients: int,
    chunk: int | None = None,
    arm: str | None = None,
    every_h: float = 24.0,
    seed: int | None = None,
    resume: bool = False,
    states: bool = False,
    engine=None,
    allow_high_dose: bool = False,
    available_bytes: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> StreamResult:
    """Simulate ``patients`` patients of one arm of ``spec`` in chunks of ``chunk``, streamed to ``out``.

    :func:`plan_stream` then :func:`run_stream`.
    """
    plan = plan_stream(
        spec,
        out,
        patients=patients,
        chunk=chunk,
        arm=arm,
        every_h=every_h,
        seed=seed,
        resume=resume,
        states=states,
        engine=engine,
        allow_high_dose=allow_high_dose,
        available_bytes=available_bytes,
    )
    return run_stream(plan, progress=progress, on_chunk=on_chunk)


def run_stream(
    plan: StreamPlan,
    *,
    progress: Callable[[int], None] | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> StreamResult:
    """Run a plan chunk by chunk. ``on_chunk(i, n_chunks)`` is called after chunk ``i`` is safely on
    disk (progress reporting; the tests use it to interrupt a run)."""
    from ..cohort import sample_cohort
    from ..simulation import simulate

    spec, out, name, regimen, model, engine = plan.spec, plan.out, plan.arm, plan.regimen, plan.model, plan.engine
    ts, patients, chunk, seed, every_h, states = (
        plan.times_h,
        plan.patients,
        plan.chunk,
        plan.seed,
        plan.every_h,
        plan.states,
    )
    n_chunks = plan.n_chunks
    partial = out.with_name(out.name + ".partial")
    group = _open_partial(plan, create=True)
    done = np.asarray(group["chunk_done"][:])
    resumed = int(done.sum())
    if progress is not None and resumed:
        progress(int(sum(min(chunk, patients - i * chunk) for i in np.flatnonzero(done))))
    t_start = time.perf_counter()
    for i in range(n_chunks):
        if done[i]:
            continue
        lo, hi = i * chunk, min((i + 1) * chunk, patients)
        cohort = sample_cohort(
            model.values,
            model.cvs,
            spec.trial.population,
            hi - lo,
            seed=seed,
            arm=name,
            start=lo,
            inclusion=spec.inclusion(),
            scale=spec.trial.scale,
        ).told(spec.open_label(name))
        sim = simulate(model, regimen, cohort, saveat=ts, engine=engine, progress=progress)
        _write_chunk(group, sim, lo, hi, patients, chunk, states)
        group["chunk_done"][i] = True  # only now: a chunk interrupted while writing is simply redone
        if on_chunk is not None:
            on_chunk(i, n_chunks)
    seconds = time.perf_counter() - t_start

    summary = _summarise(group, ts, patients, chunk, n_chunks, resumed, seconds, name, spec, seed, every_h)
    group.attrs["complete"] = True
    (partial / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    _move_into(partial, out)
    return StreamResult(out, summary)


def _open_partial(plan: StreamPlan, *, create: bool):
    """The store of an interrupted run to continue (checked against the plan), or a new one if ``create``."""
    import zarr

    partial = plan.out.with_name(plan.out.name + ".partial")
    store_path = partial / STORE
    if partial.exists() and not (store_path / "zarr.json").exists():
        if not create:
            return None
        shutil.rmtree(partial)  # stopped before its store was created: nothing to keep
    if partial.exists():
        if not plan.resume:
            raise NeuroplastInputError(
                f"an interrupted run is waiting in {partial}; add --resume to continue it, or delete that folder "
                f"to start again",
                field="--out",
                value=str(plan.out),
            )
        try:
            group = zarr.open_group(str(store_path), mode="r+")
            old = group.attrs.get("fingerprint")
        except Exception:  # noqa: BLE001 - any unreadable store is reported the same way
            old = None
        if old != plan.fingerprint:
            raise NeuroplastInputError(
                f"the interrupted run in {partial} was started with other settings (spec, arm, patients, chunk, "
                f"every, seed or model); rerun with those, or delete that folder to start again",
                field="--resume",
                value=str(partial),
            )
        return group
    if not create:
        return None
    partial.mkdir(parents=True)
    group = zarr.open_group(str(store_path), mode="w")
    group.attrs.update(
        {
            "fingerprint": plan.fingerprint,
            "trial": plan.spec.trial.id,
            "arm": plan.arm,
            "patients": plan.patients,
            "chunk": plan.chunk,
            "seed": plan.seed,
            "every_h": plan.every_h,
            "neuroplast_version": __version__,
            "complete": False,
            "patients_drawn": "sample_cohort(seed, arm): the first patients of the trial's arm with this seed",
        }
    )
    group.create_array(
        "time_h", data=plan.times_h, dimension_names=("time_h",), attributes={"units": "h from the first dose"}
    )
    group.create_array(
        "chunk_done", shape=(plan.n_chunks,), chunks=(1,), dtype="bool", fill_value=False, dimension_names=("chunk",)
    )
    return group


def _write_chunk(group, sim, lo, hi, patients, chunk, states):
    from .._errors import PatientStatus
    from ..model import READOUT_UNITS, STATE_NAMES, STATE_UNITS

    t = sim.times_h.size
    arrays = {
        name: (np.asarray(arr, np.float32), {"units": READOUT_UNITS.get(name, "")})
        for name, arr in sim.readouts.items()
    }
    if states:
        for k, name in enumerate(STATE_NAMES):
            arrays[f"state_{name}"] = (np.asarray(sim.states[:, :, k], np.float32), {"units": STATE_UNITS[k]})
    for name, (arr, attrs) in arrays.items():
        if name not in group:
            group.create_array(
                name,
                shape=(patients, t),
                chunks=(chunk, t),
                dtype="f4",
                fill_value=np.nan,
                dimension_names=("patient", "time_h"),
                attributes=attrs,
            )
        group[name][lo:hi] = arr
    if "status" not in group:
        group.create_array(
            "status",
            shape=(patients,),
            chunks=(chunk,),
            dtype="i1",
            fill_value=-1,
            dimension_names=("patient",),
            attributes={"meaning": ", ".join(f"{s.value}={s.name}" for s in PatientStatus) + ", -1=not simulated yet"},
        )
    group["status"][lo:hi] = np.asarray(sim.status, np.int8)
    table = sim.cohort.table
    for col in table.columns:
        values = table[col].to_numpy()
        if values.dtype.kind not in "biuf":
            continue  # text covariates are not stored (none so far)
        name = f"cov_{col}"
        if name not in group:
            group.create_array(
                name, shape=(patients,), chunks=(chunk,), dtype=values.dtype, dimension_names=("patient",)
            )
        group[name][lo:hi] = values


def _summarise(group, ts, patients, chunk, n_chunks, resumed, seconds, arm, spec, seed, every_h) -> dict:
    """Counts and last-time means, read back chunk by chunk (bounded memory; checks every chunk landed)."""
    import resource

    from .._errors import PatientStatus

    status = np.asarray(group["status"][:])
    if np.any(status < 0):
        raise RuntimeError("a chunk marked done has patients without a status")  # internal invariant
    ok = status == PatientStatus.ok
    readouts = [
        k
        for k in group.array_keys()
        if k not in ("time_h", "chunk_done", "status") and not k.startswith("cov_") and not k.startswith("state_")
    ]
    last = {}
    for name in sorted(readouts):
        total, count = 0.0, 0
        for lo in range(0, patients, chunk):
            col = np.asarray(group[name][lo : lo + chunk, -1], float)
            sel = ok[lo : lo + chunk]
            total += float(col[sel].sum())
            count += int(sel.sum())
        last[name] = total / count if count else None
    return {
        "trial": spec.trial.id,
        "arm": arm,
        "population": spec.trial.population,
        "seed": seed,
        "neuroplast_version": __version__,
        "patients": patients,
        "n_ok": int(ok.sum()),
        "n_failed": int((~ok).sum()),
        "chunk": chunk,
        "chunks": n_chunks,
        "chunks_resumed": resumed,
        "saved_times": int(ts.size),
        "every_h": every_h,
        "end_h": float(ts[-1]),
        "seconds_this_run": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "store": STORE,
        "readouts": sorted(readouts),
        "mean_at_last_time": last,
    }


def _move_into(partial: Path, out: Path) -> None:
    """Move the finished run into ``out`` (replacing same-named items), then drop ``partial``."""
    if not out.exists():
        os.replace(partial, out)
        return
    for item in partial.iterdir():
        target = out / item.name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        os.replace(item, target)
    shutil.rmtree(partial, ignore_errors=True)


def open_cohort(out):
    """The streamed cohort of ``out`` as a lazy xarray Dataset (dask arrays, one chunk per block)."""
    import xarray as xr

    path = Path(out) / STORE
    if not path.exists():
        raise NeuroplastInputError("no streamed cohort here (expected cohort.zarr)", field="path", value=str(out))
    return xr.open_zarr(str(path), consolidated=False)
