"""Compiled engine kernels kept on disk, so a new process neither traces nor compiles them.

Every process would otherwise trace the model in Python (seconds for the full model) and then look
the compiled XLA program up in JAX's persistent compilation cache (``jax_compilation_cache_dir``,
which the CLI sets). :func:`call` compiles a kernel once, keeps it for the process, and stores the
compiled executable (``jax.experimental.serialize_executable``) beside that cache, keyed by the
kernel's name, its static arguments, its argument shapes and dtypes, its XLA compiler options
(:func:`compile_options`), the device and host CPU, the library versions and a hash of neuroplast's
own source; a later process loads it and runs it (no tracing, no lowering, no XLA compile).

A kernel is only stored when it can be: with Equinox's runtime checks on (``EQX_ON_ERROR=raise``,
host callbacks) the executable cannot be serialized, and every process compiles the kernel itself.
neuroplast sets ``EQX_ON_ERROR=nan`` unless the environment says otherwise: a failed check then turns
the patient's numbers into NaN, which the engine flags as ``non_finite`` (never averaged).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import pathlib
import pickle
import platform
import tempfile

import equinox as eqx
import jax
import numpy as np

_COMPILED: dict[str, object] = {}  # key -> the compiled kernel (or its jitted function), per process


@functools.cache
def _code_version() -> str:
    h = hashlib.sha256()
    root = pathlib.Path(__file__).parent
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    for dist in ("jax", "jaxlib", "equinox", "diffrax"):
        h.update(f"{dist}={importlib.metadata.version(dist)}".encode())
    h.update(os.environ.get("EQX_ON_ERROR", "raise").encode())
    return h.hexdigest()


@functools.cache
def _host() -> str:
    """The machine an executable was compiled for: XLA compiles for the host CPU's instruction set (a kernel
    store shared between machines must not hand one machine's program to another) and for the device."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        pass
    dev = jax.devices()[0]
    return repr((platform.machine(), hashlib.sha256(flags.encode()).hexdigest(), dev.platform,
                 getattr(dev, "device_kind", ""), getattr(dev.client, "platform_version", "")))


def _plain(x) -> bool:
    return x is None or isinstance(x, (bool, int, float, str, np.generic)) or (
        isinstance(x, tuple) and all(map(_plain, x)))


def compile_options() -> dict:
    """XLA options for neuroplast's engine kernels. On the CPU, XLA's older loop emitters
    (``xla_cpu_use_fusion_emitters=False``) compile them faster and run them no slower (measured: the fast
    engine's kernel 8.7 → 4.5 s of XLA at the same speed, Tsit5's 5.4–6.3 → 3.5–4.0 s and 1.3× faster;
    docs/scale.md)."""
    return {"xla_cpu_use_fusion_emitters": False} if jax.default_backend() == "cpu" else {}


def call(name: str, fn, dynamic: tuple, static: tuple = (), options: dict | None = None):
    """``fn(*dynamic, *static)``, compiled once per process and, when a persistent cache folder is set,
    stored on disk for the next process.

    ``dynamic`` is a pytree of arrays (Equinox modules included; their non-array fields must be plain
    values); ``static`` plain Python values. ``options``: XLA compiler options for this kernel (every way
    of calling it compiles with them, so they give the same numbers; part of the stored key). Without a
    cache folder and options this is the ordinary call; a kernel whose non-array parts are not plain
    values is called the ordinary way, with XLA's defaults."""
    folder = jax.config.jax_compilation_cache_dir
    arrays, rest = eqx.partition(dynamic, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten(arrays)
    rest_leaves = jax.tree_util.tree_leaves(rest)
    if not all(map(_plain, (*rest_leaves, *static))) or not (folder or options):
        return fn(*dynamic, *static)
    opts = tuple(sorted((options or {}).items()))
    spec = [(tuple(x.shape), str(x.dtype), bool(getattr(x, "weak_type", False))) for x in leaves]
    key = hashlib.sha256(repr((name, _code_version(), _host(), str(treedef), str(
        jax.tree_util.tree_structure(rest)), rest_leaves, static, spec, opts)).encode()).hexdigest()[:32]
    if key not in _COMPILED:
        jitted = jax.jit(_flat(fn, treedef, rest, static), compiler_options=options or None)
        path = pathlib.Path(folder) / "neuroplast-kernels" / f"{name}-{key}.bin" if folder else None
        _COMPILED[key] = _load_or_compile(path, jitted, leaves) if path else jitted
    return _COMPILED[key](*leaves)


def _flat(fn, treedef, rest, static):
    def flat(*xs):
        return fn(*eqx.combine(jax.tree_util.tree_unflatten(treedef, xs), rest), *static)

    return flat


def _load_or_compile(path: pathlib.Path, jitted, leaves):
    """The stored executable at ``path``, or ``jitted`` compiled for ``leaves`` (and stored there if it can be)."""
    from jax.experimental import serialize_executable as se

    if path.exists():
        try:
            return se.deserialize_and_load(*pickle.loads(path.read_bytes()))
        except Exception:  # noqa: BLE001 - a stale or damaged file: compile again and overwrite it
            pass
    compiled = jitted.lower(*leaves).compile()
    try:
        blob = pickle.dumps(se.serialize(compiled))
    except Exception:  # noqa: BLE001 - host callbacks (EQX_ON_ERROR=raise) and the like: not serializable
        return compiled
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:  # atomic: no half-written kernel
        tmp.write(blob)
    os.replace(tmp.name, path)
    return compiled
