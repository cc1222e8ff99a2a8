"""Where many independent runs execute: in this process, on a local dask cluster, or on a real one.

``runner(scheduler)`` is a context manager that yields a :class:`Runner` whose ``map(fn, items)``
returns ``[fn(x) for x in items]`` in the order of ``items`` — whatever ran them. ``scheduler``:

* ``"none"`` (or ``None``): in this process, one after the other (tests, debugging, tiny jobs);
* ``"local"``: a ``dask.distributed.LocalCluster`` of ``workers`` single-threaded processes
  (JAX compiles once per worker process; the persistent compilation cache is shared);
* ``"tcp://host:port"`` (or ``tls://``, ``ws://``…): an existing ``dask scheduler``; the connection is
  tried for ``timeout_s`` seconds, then a :class:`NeuroplastInputError` names the address.

Tasks are plain functions of picklable arguments that live in an importable module, so a worker
only needs neuroplast installed (importing it turns on float64, as in the client).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .._errors import NeuroplastInputError

SCHEDULER_HELP = (
    '"local" (a local dask cluster, default), "none" (this process only) or the address of a '
    "running dask scheduler, e.g. tcp://10.0.0.5:8786"
)


class Runner:
    """Maps a function over items in order; ``where`` says what runs them (for the record)."""

    def __init__(self, where: str, client=None):
        self.where = where
        self.client = client

    def map(self, fn: Callable[[Any], Any], items: Iterable, *, progress: Callable[[int], None] | None = None) -> list:
        items = list(items)
        if self.client is None:
            out = []
            for x in items:
                out.append(fn(x))
                if progress is not None:
                    progress(1)
            return out
        from distributed import as_completed

        # pure=False: identical payloads (e.g. replicate seeds) are still separate tasks
        futures = self.client.map(fn, items, pure=False)
        if progress is not None:
            for _ in as_completed(futures):
                progress(1)
        return self.client.gather(futures)

    @property
    def n_workers(self) -> int:
        if self.client is None:
            return 1
        return len(self.client.scheduler_info().get("workers", {})) or 1


def default_workers() -> int:
    """Worker processes of a local cluster: one per core, at most 8 (each holds its own compiled model)."""
    return max(1, min(os.cpu_count() or 1, 8))


@contextlib.contextmanager
def runner(scheduler: str | None = "local", *, workers: int | None = None, timeout_s: float = 10.0) -> Iterator[Runner]:
    """Yield a :class:`Runner` for ``scheduler`` (see the module docstring); close what it opened."""
    sched = (scheduler or "none").strip()
    if sched.lower() in ("none", "serial", "inline"):
        yield Runner("this process")
        return
    if workers is not None and workers < 1:
        raise NeuroplastInputError("the number of workers must be at least 1", field="--workers", value=workers)
    from distributed import Client, LocalCluster

    if sched.lower() == "local":
        n = workers or default_workers()
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
        try:
            with Client(cluster, set_as_default=False) as client:
                yield Runner(f"local dask cluster ({n} worker processes)", client)
        finally:
            cluster.close()
        return
    if "://" not in sched:
        raise NeuroplastInputError(
            f"not a scheduler address; use {SCHEDULER_HELP}", field="--scheduler", value=scheduler
        )
    try:
        client = Client(sched, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise NeuroplastInputError(
            f"no dask scheduler answered within {timeout_s:g} s ({reason}); start one with `dask scheduler` and "
            f"`dask worker ADDRESS`, check the address, or use --scheduler local",
            field="--scheduler",
            value=scheduler,
        ) from None
    try:
        yield Runner(f"dask scheduler {sched}", client)
    finally:
        client.close()


def worker_setup(jax_cache_dir: str | None) -> None:
    """In a worker process: use the client's persistent JAX compilation cache (once per process), and solve
    one batch at a time (the cluster already runs one single-threaded worker per core)."""
    import os

    import jax

    os.environ.setdefault("NEUROPLAST_THREADS", "1")

    from neuroplast.engine import configure, kernels

    configure()  # float64 before any array is made, as in the client
    if jax_cache_dir and not jax.config.jax_compilation_cache_dir:  # type: ignore[attr-defined]  # JAX's flags are set dynamically
        kernels.use_cache(jax_cache_dir)


def current_jax_cache() -> str | None:
    import jax

    return jax.config.jax_compilation_cache_dir or None  # type: ignore[attr-defined]  # JAX's flags are set dynamically
