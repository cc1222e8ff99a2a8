"""Process tuning for the engines: one explicit call, :func:`configure`, never an import.

``import neuroplast`` leaves the process as it found it: ``os.environ``, JAX's configuration and the C
library's allocator. The CLI, the web server, the dask workers and the benchmarks call :func:`configure` first
thing; a library user does the same before the first simulation::

    import neuroplast
    neuroplast.engine.configure()          # float64, XLA's CPU options, the allocator, Equinox's checks

Without it neuroplast still runs, in JAX's default precision (float32) and with Equinox raising on a failed
runtime check (so kernels are not stored on disk: :mod:`.kernels`).
"""

from __future__ import annotations

import dataclasses
import os
import sys

from .memory import keep_freed_memory

HOIST = "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1000000000"
"""XLA's CPU backend compiles a while loop whose buffers are small as one function instead of one call per
operation (its "small while loop" pass, 1 kB by default). The fast engine's stepping loop (~2 MB for a batch of
64) then runs 1.2x faster per step, for ~0.5 s more compile (docs/scale.md). XLA reads ``XLA_FLAGS`` once, when
the first backend starts: set it before JAX has run anything. Backend extra options already in ``XLA_FLAGS``
win."""


@dataclasses.dataclass(frozen=True)
class Configured:
    """What :func:`configure` changed (``False``: left as the user or the process had it)."""

    x64: bool
    xla_flags: bool
    malloc: bool
    eqx_on_error: str


def configure(*, x64: bool = True, xla_flags: bool = True, malloc: bool = True) -> Configured:
    """Tune this process for neuroplast's engines; returns what was changed.

    - ``x64``: JAX computes in float64 (the model is validated in float64). Call before any array is made.
    - ``xla_flags``: :data:`HOIST` added to ``XLA_FLAGS`` unless it already carries backend extra options; only
      effective before JAX starts its backend (the first computation).
    - ``malloc``: glibc keeps freed buffers for reuse (:func:`.memory.keep_freed_memory`; Linux, glibc, unless
      ``MALLOC_*`` or ``GLIBC_TUNABLES`` says otherwise): ~10 % of a fast-engine cohort's wall time.
    - Equinox's runtime checks inside diffrax become NaN (flagged per patient as ``non_finite``) instead of host
      callbacks, so the engines' kernels can be exported and stored on disk (:mod:`.kernels`). An
      ``EQX_ON_ERROR`` already in the environment wins.
    """
    flags = False
    if xla_flags and "xla_backend_extra_options" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = " ".join(filter(None, [os.environ.get("XLA_FLAGS", ""), HOIST]))
        flags = True
    os.environ.setdefault("EQX_ON_ERROR", "nan")
    on_error = os.environ["EQX_ON_ERROR"]
    errors = sys.modules.get("equinox._errors")
    if errors is not None:  # Equinox read the environment when it was imported: tell it too
        errors.EQX_ON_ERROR = on_error  # type: ignore[attr-defined]

    tuned = keep_freed_memory() if malloc else False
    if x64:
        import jax

        jax.config.update("jax_enable_x64", True)
    return Configured(x64=x64, xla_flags=flags, malloc=tuned, eqx_on_error=on_error)
