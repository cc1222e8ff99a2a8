"""Traced engine kernels kept on disk (``jax.export``), so a new process skips tracing.

JAX's persistent compilation cache (``jax_compilation_cache_dir``, which the CLI sets) stores
compiled XLA programs, but every process still traces the model in Python first (seconds for the
full model). :func:`call` stores the traced kernel as a serialized ``jax.export.Exported`` beside
that cache, keyed by the kernel's name, its static arguments, its argument shapes and dtypes, its
XLA compiler options (:func:`compile_options`), the library versions and a hash of neuroplast's own
source; a later process deserializes it (no tracing) and the compilation itself comes from the
persistent cache.

A kernel is only stored when it can be: with Equinox's runtime checks on (``EQX_ON_ERROR=raise``,
host callbacks) export fails, and the kernel is called the ordinary way. neuroplast sets
``EQX_ON_ERROR=nan`` in :func:`neuroplast.engine.configure` unless the environment says otherwise: a failed check then turns the patient's
numbers into NaN, which the engine flags as ``non_finite`` (never averaged).
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import importlib.metadata
import os
import pathlib
import re
import sys
import tempfile
from typing import Any

import equinox as eqx
import jax
import numpy as np

_MEMORY: dict[str, object] = {}  # key -> Exported (or None: not exportable), per process
_JITTED: dict[str, object] = {}  # key -> the callable that runs it (with its compiler options), per process
_RAN: set = set()  # keys that have run in this process (traced, compiled, loaded): see ran()
_AHEAD: dict[str, concurrent.futures.Future] = {}  # key -> the jitted kernel being compiled ahead: compile_ahead()
_KEYS: dict[tuple, tuple] = {}  # a call's structure -> (key, treedef, rest, static): _key() without the hashing
CACHE_MAX_BYTES = 2 * 2**30
"""The bound on JAX's persistent compilation cache where neuroplast sets it (:func:`use_cache`): JAX evicts the
least recently used compiled programs beyond it (otherwise the folder grows with every new shape, option and
version)."""
STORE_MAX_BYTES = 512 * 2**20
"""The kernel store's bound: after a new kernel is written, the least recently used ones (by modification time;
a kernel loaded from the store is touched) are removed until the folder holds at most this much (every change of
neuroplast's source or of a library version keys new kernels, so the old ones would otherwise pile up)."""


@functools.cache
def _code_version() -> str:
    h = hashlib.sha256()
    root = pathlib.Path(__file__).parents[1]  # the whole package, not only engine/
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    for dist in ("jax", "jaxlib", "equinox", "diffrax"):
        h.update(f"{dist}={importlib.metadata.version(dist)}".encode())
    h.update(_eqx_on_error().encode())
    return h.hexdigest()


def _eqx_on_error() -> str:
    """How Equinox's runtime checks fail in this process (read by Equinox at import, set by :func:`.configure`)."""
    errors = sys.modules.get("equinox._errors")
    return str(getattr(errors, "EQX_ON_ERROR", os.environ.get("EQX_ON_ERROR", "raise")))


def _cache_folder() -> str | None:
    """JAX's persistent compilation cache folder (set by :func:`use_cache`), or ``None``."""
    return jax.config.jax_compilation_cache_dir  # type: ignore[attr-defined]  # JAX's flags are set dynamically


def _plain(x) -> bool:
    return (
        x is None
        or isinstance(x, (bool, int, float, str, np.generic))
        or (isinstance(x, tuple) and all(map(_plain, x)))
    )


def use_cache(folder: str) -> None:
    """Keep compiled programs in ``folder`` (JAX's persistent compilation cache, bounded by :data:`CACHE_MAX_BYTES`)
    and traced kernels beside them (the store, bounded by :data:`STORE_MAX_BYTES`); programs that compiled in
    under 0.5 s are not worth a file. Call before the first compilation (the CLI and each dask worker do)."""
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def compile_options(*, wide: bool = False, quick: bool = False) -> dict:
    """XLA options for neuroplast's engine kernels. On the CPU, XLA's older loop emitters
    (``xla_cpu_use_fusion_emitters=False``) compile them faster and run them no slower (measured: the fast
    engine's kernel 8.7 → 4.5 s of XLA at the same speed, Tsit5's 5.4–6.3 → 3.5–4.0 s and 1.3× faster;
    docs/scale.md). ``wide``: vectorise for 512-bit registers where the CPU has them
    (``xla_cpu_prefer_vector_width``; XLA's default, 256, avoids the clock slow-down of older AVX-512 chips; a
    CPU with narrower registers ignores the preference). Measured on the 2-core AMD EPYC (Zen 5) of these
    benchmarks: the fast engine's step attempt ~10 % faster (its loops over a batch's 64 patients in half the
    instructions), Tsit5 ~4 % slower, so only the fast engine asks for it (docs/scale.md). ``quick``: no LLVM
    optimisation (``xla_backend_optimization_level=0``), for set-up kernels that run once per batch or run
    (their compile counts, their run time does not). All three were measured on the CPU only: on other backends
    this is ``{}``. An option this jaxlib's XLA does not know is left out (:func:`_known_cpu_options`)."""
    if jax.default_backend() != "cpu":
        return {}
    wanted = [
        "xla_cpu_use_fusion_emitters",
        *(["xla_cpu_prefer_vector_width"] if wide else []),
        *(["xla_backend_optimization_level"] if quick else []),
    ]
    known = _known_cpu_options()
    return {k: _CPU_OPTIONS[k] for k in wanted if k in known}


_CPU_OPTIONS: dict[str, Any] = {
    "xla_cpu_use_fusion_emitters": False,
    "xla_cpu_prefer_vector_width": 512,
    "xla_backend_optimization_level": 0,
}
_CPU_OPTIONS_KNOWN = {"0.10.2": frozenset(_CPU_OPTIONS)}
"""jaxlib version -> the options of :data:`_CPU_OPTIONS` its XLA accepts, as :func:`_known_cpu_options` found them
(uv.lock's jaxlib; checked against XLA by ``test_compile_options_leave_out_what_this_xla_does_not_know``): spares
the cold start its question."""


@functools.cache
def _known_cpu_options(ask: bool = False) -> frozenset[str]:
    """The options :func:`compile_options` may give that this jaxlib's XLA accepts. XLA drops options between
    releases (jaxlib 0.11 has no ``xla_cpu_use_fusion_emitters``), and a compile with an unknown one fails
    ("No such compile option: 'name'"). For a jaxlib not in :data:`_CPU_OPTIONS_KNOWN` (or with ``ask``), one
    trivial compile per process asks (~25 ms on the CPU); each refusal names the option, which is dropped before
    asking again."""
    known = _CPU_OPTIONS_KNOWN.get(importlib.metadata.version("jaxlib"))
    if known is not None and not ask:
        return known
    names = set(_CPU_OPTIONS)
    while names:
        try:
            jax.jit(lambda x: x + 1).lower(np.float32(0)).compile(
                compiler_options={k: _CPU_OPTIONS[k] for k in sorted(names)}
            )
            break
        except Exception as e:  # jax.errors.JaxRuntimeError (XlaRuntimeError in older jaxlibs)
            unknown = re.search(r"No such compile option: '(\w+)'", str(e))
            if unknown is None or unknown.group(1) not in names:
                raise
            names.discard(unknown.group(1))
    return frozenset(names)


MATMUL_PRECISION = "highest"
"""Matrix products in neuroplast's kernels are traced at full precision. JAX's default lets a GPU compute float32
products in TensorFloat-32 (10-bit mantissa) and a TPU in bfloat16 (https://docs.jax.dev/en/latest/201/precision.html):
the fast engine's propagators (matrix exponentials by Taylor series and repeated squaring, engine/linear.py) and
its input products would carry ~1e-3 relative errors into every step. No effect on the CPU (same programs)."""


def _precision():
    return jax.default_matmul_precision(MATMUL_PRECISION)


def call(name: str, fn, dynamic: tuple, static: tuple = (), options: dict | None = None):
    """``fn(*dynamic, *static)`` through a stored export when a persistent cache folder is set.

    ``dynamic`` is a pytree of arrays (Equinox modules included; their non-array fields must be plain
    values); ``static`` plain Python values. Without a cache folder, or when the kernel cannot be
    exported, the kernel is jitted here (``fn`` need not be). ``options``: XLA compiler options for this kernel
    (both ways of calling it compile with them, so they give the same numbers; part of the stored key). A kernel
    whose non-array parts are not plain values is called the ordinary way, with XLA's defaults. Traced with
    :data:`MATMUL_PRECISION`."""
    with _precision():
        return _call(name, fn, dynamic, static, options)


def _call(name, fn, dynamic, static, options):
    folder = _cache_folder()
    key, leaves, treedef, rest = _key(name, dynamic, static, options)
    if key is None:
        return fn(*dynamic, *static)
    if key in _AHEAD:  # compiled ahead on another thread: wait for it (a failure there: compile here as usual)
        try:
            _JITTED[key] = _AHEAD.pop(key).result()
        except Exception:  # noqa: BLE001
            pass
    exp = _exported(folder, name, key, fn, treedef, rest, static, leaves) if folder else _MEMORY.get(key)
    if key not in _JITTED:  # one jitted wrapper per kernel, so that JAX's own caches see the same function;
        # jitted also without options (a GPU's): not every kernel is jitted itself, and run op by op one would be
        # slow, or fail (the fast engine's probe indexes the host's numpy leaves with a traced index)
        target = exp.call if exp is not None else _flat(fn, treedef, rest, static)
        _JITTED[key] = jax.jit(target, compiler_options=options or None)
    out = _JITTED[key](*leaves)
    _RAN.add(key)
    return out


def out_shapes(name: str, fn, dynamic: tuple, static: tuple = (), options: dict | None = None):
    """The shapes and dtypes (``jax.ShapeDtypeStruct``) of what :func:`call` with these arguments returns, read off
    the kernel's export without compiling or running it; ``None`` when there is no kernel store (no cache folder)
    or the kernel cannot be exported. Traces the kernel if the store does not hold it yet (as :func:`call` would)."""
    folder = _cache_folder()
    key, leaves, treedef, rest = _key(name, dynamic, static, options)
    if key is None or not folder:
        return None
    with _precision():
        exp = _exported(folder, name, key, fn, treedef, rest, static, leaves)
    if exp is None:
        return None
    on = jax.sharding.SingleDeviceSharding(jax.devices()[0])  # where call() leaves them: they stand for its results
    return jax.tree_util.tree_unflatten(
        exp.out_tree, [jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=on) for a in exp.out_avals]
    )


def compile_ahead(name: str, fn, dynamic: tuple, static: tuple = (), options: dict | None = None) -> None:
    """Trace and compile a kernel on a background thread for arguments shaped like ``dynamic`` (its leaves may be
    ``jax.ShapeDtypeStruct``), while the caller goes on; :func:`call` with such arguments then waits for it
    instead of compiling. Python's tracing holds the interpreter lock, XLA's compile does not: the fast engine
    traces and compiles its set-up kernel while its stepping kernel is being compiled (docs/scale.md). Only with a
    kernel store; nothing happens for a kernel this process has compiled or is compiling."""
    folder = _cache_folder()
    key, leaves, treedef, rest = _key(name, dynamic, static, options)
    if key is None or not folder or key in _JITTED or key in _AHEAD:
        return
    # as placed: a committed array (or a shape that says where) compiles differently from a numpy one
    shapes = [
        x
        if isinstance(x, jax.ShapeDtypeStruct)
        else jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding if isinstance(x, jax.Array) else None)
        for x in leaves
    ]

    def work():
        with _precision():  # as call() traces it (a thread's own configuration)
            exp = _exported(folder, name, key, fn, treedef, rest, static, leaves)
            jitted = jax.jit(
                exp.call if exp is not None else _flat(fn, treedef, rest, static), compiler_options=options or None
            )
            jitted.lower(*shapes).compile()  # fills the jitted function's own cache: its first call compiles nothing
        return jitted

    _AHEAD[key] = _pool().submit(work)


@functools.cache
def _pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="neuroplast-compile")


def ran(name: str, dynamic: tuple, static: tuple = (), options: dict | None = None) -> bool:
    """Whether :func:`call` with these arguments (their shapes and static values) has already run in this
    process, so that calling it again compiles nothing. ``False`` when unsure (a kernel whose non-array parts
    are not plain values)."""
    return _key(name, dynamic, static, options)[0] in _RAN


def _key(name, dynamic, static, options):
    """``(key, leaves, treedef, rest)`` of a kernel call; ``key`` is ``None`` when its non-array parts are not
    plain values (it cannot be keyed: called the ordinary way, and :func:`ran` says False).

    A call shaped like an earlier one (the same tree, array shapes and dtypes, non-array values, options, and
    the very same ``static`` object, as an engine passes for each of its batches) reuses that one's key: the
    full key (partition, the tree's text, a hash) cost ~0.6 ms of Python per call, ~16 ms per 768-patient run
    of the fast engine (docs/scale.md)."""
    flat, structure = jax.tree_util.tree_flatten(dynamic)
    try:
        memo = (
            name,
            id(static),
            structure,
            tuple((x.shape, x.dtype) if _is_array(x) else _ident(x) for x in flat),
            tuple(sorted((options or {}).items())),
        )
        hit = _KEYS.get(memo)
    except TypeError:  # an unhashable value: the full key, every time
        memo, hit = None, None
    if hit is not None:
        return hit[0], [x for x in flat if _is_array(x)], hit[1], hit[2]
    key, leaves, treedef, rest = _full_key(name, dynamic, static, options)
    if memo is not None and key is not None:
        if len(_KEYS) >= 256:  # bounded: a caller that makes its static values anew for each call never hits
            _KEYS.clear()
        _KEYS[memo] = (key, treedef, rest, static)  # holds ``static``: its id is not reused while the entry lives
    return key, leaves, treedef, rest


def _ident(x):
    """A non-array leaf as a memo entry: its type with its value (``1``, ``1.0`` and ``True`` are equal and hash
    alike, but trace differently), and a float's sign (``0.0 == -0.0``)."""
    if isinstance(x, tuple):
        return tuple, tuple(map(_ident, x))
    if isinstance(x, float):
        return float, x, np.copysign(1.0, x)
    return type(x), x


def _full_key(name, dynamic, static, options):
    arrays, rest = eqx.partition(dynamic, _is_array)
    leaves, treedef = jax.tree_util.tree_flatten(arrays)
    rest_leaves = jax.tree_util.tree_leaves(rest)
    if not all(map(_plain, (*rest_leaves, *static))):
        return None, leaves, treedef, rest
    opts = tuple(sorted((options or {}).items()))
    spec = [(tuple(x.shape), _dtype_name(x.dtype)) for x in leaves]
    key = hashlib.sha256(
        repr(
            (
                name,
                _code_version(),
                jax.default_backend(),
                str(treedef),
                str(jax.tree_util.tree_structure(rest)),
                rest_leaves,
                static,
                spec,
                opts,
            )
        ).encode()
    ).hexdigest()[:32]
    return key, leaves, treedef, rest


def _is_array(x) -> bool:
    return eqx.is_array(x) or isinstance(x, jax.ShapeDtypeStruct)  # shapes stand for arrays: compile_ahead()


@functools.cache
def _dtype_name(dtype) -> str:
    return str(dtype)  # str() of a dtype is slow enough to matter for a model with a hundred arrays, per batch


def _flat(fn, treedef, rest, static):
    def flat(*xs):
        return fn(*eqx.combine(jax.tree_util.tree_unflatten(treedef, xs), rest), *static)

    return flat


def _exported(folder, name, key, fn, treedef, rest, static, leaves):
    """The kernel's export (``None``: not exportable), from this process's memory, the store in ``folder``, or a
    new trace (then stored)."""
    if key not in _MEMORY:
        _MEMORY[key] = _load_or_export(
            pathlib.Path(folder) / "neuroplast-kernels" / f"{name}-{key}.bin", fn, treedef, rest, static, leaves
        )
    return _MEMORY[key]


def _load_or_export(path: pathlib.Path, fn, treedef, rest, static, leaves):
    from jax import export

    if path.exists():
        try:
            exp = export.deserialize(bytearray(path.read_bytes()))
            os.utime(path)  # recently used: pruned last
            return exp
        except Exception:  # noqa: BLE001 - a stale or damaged file (or one pruned meanwhile): trace again
            pass

    try:
        shapes = [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in leaves]
        exp = export.export(jax.jit(_flat(fn, treedef, rest, static)))(*shapes)
        blob = exp.serialize()
    except Exception:  # noqa: BLE001 - host callbacks (EQX_ON_ERROR=raise) and the like: not exportable
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:  # atomic: no half-written kernel
        tmp.write(blob)
    os.replace(tmp.name, path)
    _prune(path.parent, keep=path)
    return exp


def _prune(folder: pathlib.Path, keep: pathlib.Path) -> None:
    """Remove the least recently used kernels of ``folder`` (not ``keep``) until it holds at most
    :data:`STORE_MAX_BYTES`. Another process may be pruning or loading at the same time: a file that is gone
    is skipped, and a kernel pruned under a process that wanted it is traced again (see :func:`_load_or_export`)."""
    files = []
    for p in folder.glob("*.bin"):
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        files.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in files)
    for _, size, p in sorted(files, key=lambda f: f[0]):
        if total <= STORE_MAX_BYTES:
            break
        if p != keep:
            p.unlink(missing_ok=True)
            total -= size
