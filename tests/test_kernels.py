"""The on-disk kernel store (neuroplast.engine.kernels): a second process loads the traced engine instead of
tracing it, and gets the same numbers."""

import importlib.metadata
import os
import platform
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

SCRIPT = textwrap.dedent("""
    import sys
    import jax
    import numpy as np
    import neuroplast as npl
    from neuroplast.engine import adaptive, fast
    from neuroplast.engine import kernels as _kernels

    npl.engine.configure()  # as the CLI and the test process do
    _kernels._known_cpu_options()  # the process's one question about XLA's options: a trivial compile, not a kernel
    jax.config.update("jax_compilation_cache_dir", sys.argv[1])
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, secs, **kw: compiles.append(event) if event.endswith("backend_compile_duration") else None)
    if sys.argv[2] == "forbid-tracing":
        def refuse(*a, **k):
            raise AssertionError("traced the engine although a stored kernel exists")
        adaptive._solve_one = refuse
        fast._solve_batch_impl = refuse
        fast._setup_impl = refuse
    model = npl.default_model()
    reg = npl.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d", "2 d"]}])
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 8, seed=3)
    sim = npl.simulate(model, reg, cohort, saveat=np.arange(0.0, 97.0, 12.0), engine=npl.engine.by_name(sys.argv[4]))
    np.save(sys.argv[3], sim.states)
    print("compiles", len(compiles))
""")


@pytest.mark.slow
@pytest.mark.parametrize("method,kernel", [("tsit5", "solve_batch"), ("fast", "fast_batch")])
def test_second_process_loads_the_stored_kernel_and_matches(tmp_path, model, method, kernel):
    """Oracle: the ordinary in-process call (no cache folder) of the same cohort. The stored kernel is the
    same program, compiled with the same XLA options (the fast engine's are not the defaults), so states agree
    bit for bit; the second process cannot trace (the engine's traced function raises). The fast engine's first
    process compiles each of its four kernels once (JAX's compile events): its stepping kernel is compiled ahead,
    on another thread, from the set-up's output shapes, and the call that follows must not compile it again."""
    import neuroplast as npl

    cache, script = tmp_path / "cache", tmp_path / "run.py"
    script.write_text(SCRIPT)
    compiles = {}
    for mode, out in (("trace", "a.npy"), ("forbid-tracing", "b.npy")):
        run = subprocess.run(
            [sys.executable, str(script), str(cache), mode, str(tmp_path / out), method],
            check=True,
            timeout=600,
            capture_output=True,
            text=True,
        )
        compiles[mode] = int(run.stdout.split("compiles")[-1])
    if method == "fast":  # each of its four kernels compiled once, the stepping kernel ahead (_kernels.compile_ahead)
        assert compiles["trace"] == 4, compiles
    assert len(list((cache / "neuroplast-kernels").glob(f"{kernel}-*.bin"))) == 1
    reg = npl.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d", "2 d"]}])
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 8, seed=3)
    ref = npl.simulate(model, reg, cohort, saveat=np.arange(0.0, 97.0, 12.0), engine=npl.engine.by_name(method)).states
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), ref)
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), ref)


def test_ran_knows_the_kernels_this_process_has_run():
    """``_kernels.ran`` (what lets ``run_batches`` put every batch of a warm kernel on the threads at once) is true
    exactly for a kernel already called with the same name, argument shapes, static values and options — with
    XLA options, and called the ordinary way (no options, no cache folder: e.g. a GPU without NEUROPLAST_CACHE)."""
    import jax
    import jax.numpy as jnp

    from neuroplast.engine import kernels as _kernels

    def fn(x, y, power):
        return x * y**power

    args = (jnp.ones(3), jnp.full(3, 2.0))
    before = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", None)
    try:
        for name, options in (("ran-test", _kernels.compile_options()), ("ran-test-plain", None)):
            assert not _kernels.ran(name, args, (2,), options)
            np.testing.assert_array_equal(_kernels.call(name, fn, args, (2,), options), [4.0, 4.0, 4.0])
            assert _kernels.ran(name, args, (2,), options)
            assert _kernels.ran(name, (jnp.zeros(3), jnp.zeros(3)), (2,), options)  # other values, same shapes
            assert not _kernels.ran(name, (jnp.ones(4), jnp.ones(4)), (2,), options)  # other shapes: compiles again
            assert not _kernels.ran(name, args, (3,), options)  # another static value
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


def test_memoised_key_equals_the_full_key_and_tells_values_apart():
    """``_kernels._key`` reuses the key of an earlier call shaped the same (the same ``static`` object, tree,
    shapes, dtypes and non-array values). Oracle: ``_full_key``, the key computed from scratch, for the same
    call; and calls that may trace differently (``1`` against ``1.0`` or ``True``, ``0.0`` against ``-0.0``,
    another static object of other value, another dtype) get other keys."""
    import equinox as eqx

    from neuroplast.engine import kernels as _kernels

    class Params(eqx.Module):
        rate: np.ndarray
        scale: object  # a non-array leaf

    static = (3, (1, 2))
    options = _kernels.compile_options()

    def key(scale, static=static, rate=np.ones(4)):
        return _kernels._key("memo-test", (Params(rate, scale),), static, options)[0]

    first = key(1.0)
    assert first == _kernels._full_key("memo-test", (Params(np.ones(4), 1.0),), static, options)[0]
    assert key(1.0, rate=np.zeros(4)) == first  # other values of the arrays: the same kernel
    leaves = _kernels._key("memo-test", (Params(np.zeros(4), 1.0),), static, options)[1]
    np.testing.assert_array_equal(leaves[0], np.zeros(4))  # this call's arrays, not the memoised call's
    others = {
        key(1),
        key(True),
        key(-0.0),
        key(0.0),
        key(1.0, static=(3, (1, 3))),
        key(1.0, rate=np.ones(4, np.int32)),
        key(1.0, rate=np.ones(5)),
    }
    assert first not in others and len(others) == 7
    for scale in (1, True, -0.0, 0.0):  # each memo entry agrees with the full key
        assert key(scale) == _kernels._full_key("memo-test", (Params(np.ones(4), scale),), static, options)[0]


def test_store_keeps_to_its_bound_dropping_the_least_recently_used(tmp_path, monkeypatch):
    """Oracle: the files left. Old kernels of 10,000 bytes (modified at 1,000, 2,000 and 3,000 s) and a bound
    with room for the new kernel and two of them: writing the new kernel removes the oldest only; a kernel loaded
    from the store is touched (used recently), so it would outlive older unused ones."""
    import os

    import jax
    import jax.numpy as jnp

    from neuroplast.engine import kernels as _kernels

    def fn(x):
        return x + 1.0

    before = jax.config.jax_compilation_cache_dir
    try:
        sizes = {}
        for run in ("probe", "store"):  # the first run only learns the new kernel's size
            root = tmp_path / run
            folder = root / "neuroplast-kernels"
            folder.mkdir(parents=True)
            for i, name in enumerate("abc"):
                p = folder / f"old-{name}.bin"
                p.write_bytes(b"x" * 10_000)
                os.utime(p, (1000.0 * (i + 1), 1000.0 * (i + 1)))
            jax.config.update("jax_compilation_cache_dir", str(root))
            monkeypatch.setattr(_kernels, "STORE_MAX_BYTES", sizes.get("new", 0) + 20_000)
            monkeypatch.setattr(_kernels, "_MEMORY", {})
            monkeypatch.setattr(_kernels, "_JITTED", {})
            np.testing.assert_array_equal(_kernels.call("prune-test", fn, (jnp.ones(2),)), [2.0, 2.0])
            (new,) = folder.glob("prune-test-*.bin")
            sizes["new"] = new.stat().st_size
        assert sorted(p.name for p in folder.glob("old-*.bin")) == ["old-b.bin", "old-c.bin"]
        os.utime(new, (10.0, 10.0))  # as if unused for long: loading it again marks it used now
        monkeypatch.setattr(_kernels, "_MEMORY", {})
        monkeypatch.setattr(_kernels, "_JITTED", {})
        np.testing.assert_array_equal(_kernels.call("prune-test", fn, (jnp.ones(2),)), [2.0, 2.0])
        assert new.stat().st_mtime > 3000.0
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


CACHE_BOUND_SCRIPT = textwrap.dedent("""
    import sys
    import jax
    import jax.numpy as jnp
    from neuroplast.engine import kernels as _kernels

    _kernels.CACHE_MAX_BYTES = int(sys.argv[2])
    _kernels.use_cache(sys.argv[1])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # cache even these tiny programs
    for k in range(8):
        jax.jit(lambda x, k=k: jnp.sin(x) * k + jnp.cos(x) ** (k + 1))(jnp.ones(16)).block_until_ready()
""")


@pytest.mark.slow  # real processes compiling kernels
def test_use_cache_bounds_jax_compilation_cache(tmp_path):
    """Oracle: the files JAX leaves. ``use_cache`` (what the CLI and the dask workers call) turns on JAX's own
    least-recently-used eviction, which needs the ``filelock`` package at run time: eight distinct programs into
    a cache bounded to about three of them leave at most that many bytes of programs, and fewer programs than
    an unbounded cache keeps."""
    script, cache = tmp_path / "cache.py", tmp_path / "cache"
    script.write_text(CACHE_BOUND_SCRIPT)
    # one program's size first, then a bound of three programs
    subprocess.run([sys.executable, str(script), str(tmp_path / "probe"), "-1"], check=True, timeout=300)
    sizes = [p.stat().st_size for p in (tmp_path / "probe").glob("*-cache")]
    assert len(sizes) >= 8, sizes  # the eight, and the little programs that make their inputs
    bound = 3 * max(sizes)
    subprocess.run([sys.executable, str(script), str(cache), str(bound)], check=True, timeout=300)
    kept = [p.stat().st_size for p in cache.glob("*-cache")]
    assert 0 < len(kept) < len(sizes) and sum(kept) <= bound, (kept, bound)


HOIST_SCRIPT = textwrap.dedent("""
    import os
    import neuroplast

    neuroplast.engine.configure()  # sets XLA_FLAGS before JAX starts its backend
    import jax
    import jax.numpy as jnp

    loop = jax.jit(lambda x: jax.lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] + 1, c[1] * 1.1), (0, x))[1])
    hoisted = "xla_cpu_small_call" in loop.lower(jnp.ones(4096)).compile().as_text()
    print(os.environ.get("XLA_FLAGS", ""), hoisted, sep="|")
""")


@pytest.mark.slow  # a real process per case
@pytest.mark.parametrize(
    "given, hoisted", [(None, True), ("--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=0", False)]
)
def test_configure_lets_xla_compile_a_while_loop_as_one_function(tmp_path, given, hoisted):
    """Oracle: XLA's own compiled program. After ``neuroplast.engine.configure()`` a while loop over 32 kB (above XLA's 1 kB
    default) is compiled as one function (XLA marks it ``xla_cpu_small_call``): what makes the fast engine's
    stepping loop 1.2x faster (docs/scale.md). Backend extra options the user gives in XLA_FLAGS win."""
    if jax.default_backend() != "cpu":
        pytest.skip("an option of XLA's CPU backend")
    script = tmp_path / "hoist.py"
    script.write_text(HOIST_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"} | ({"XLA_FLAGS": given} if given else {})
    out = (
        subprocess.run([sys.executable, str(script)], check=True, capture_output=True, text=True, env=env, timeout=300)
        .stdout.strip()
        .splitlines()[-1]
    )
    flags, got = out.split("|")
    assert got == str(hoisted), out
    assert flags == (given or "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1000000000")


MALLOC_SCRIPT = """
import resource, numpy as np
import neuroplast

tuned = neuroplast.engine.configure().malloc

def faults(nbytes):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.empty(nbytes // 8)
    a[:] = 1.0  # every page written
    del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

first, second = faults(100 * 2**20), faults(100 * 2**20)
print(f"{tuned}|{first}|{second}")
"""


@pytest.mark.slow  # a real process per case
@pytest.mark.parametrize("given, tuned", [(None, True), ("131072", False)])
def test_configure_keeps_freed_memory_for_reuse(tmp_path, given, tuned):
    """Oracle: the Linux kernel's count of page faults (``getrusage``). After ``neuroplast.engine.configure()`` a freed 100 MB
    buffer is reused: writing a second one faults in fewer than 5 % of the pages the first one did (the fast
    engine's batches re-allocate their output buffers: docs/scale.md). A ``MALLOC_TRIM_THRESHOLD_`` the user gives
    (here glibc's default) means nothing is changed: the second buffer faults in as many pages as the first, give
    or take a tenth (glibc maps a buffer this large afresh and unmaps it on free)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's malloc on Linux")
    script = tmp_path / "malloc.py"
    script.write_text(MALLOC_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env |= {"MALLOC_TRIM_THRESHOLD_": given} if given else {}
    out = (
        subprocess.run([sys.executable, str(script)], check=True, capture_output=True, text=True, env=env, timeout=300)
        .stdout.strip()
        .splitlines()[-1]
    )
    applied, first, second = out.split("|")
    first, second = int(first), int(second)
    assert applied == str(tuned), out
    assert first > 0, out
    assert (second < 0.05 * first) if tuned else (second > 0.9 * first), out


def test_large_result_arrays_reuse_the_pages_of_arrays_that_are_gone():
    """``_memory.empty`` (the cohort's result arrays): an array of at least ``POOL_MIN_BYTES`` reuses the mapping of
    an earlier array of the same size once that array and every view of it are gone, and never while a view lives.
    Oracles: the arrays' addresses, the values a surviving view still reads, and the kernel's page-fault count
    (writing a reused array faults in under 5 % of the pages a fresh one does); the pool keeps to its bound."""
    import resource

    from neuroplast.engine import memory as _memory

    pool = _memory._Pool(max_bytes=2 * _memory.POOL_MIN_BYTES)
    n = _memory.POOL_MIN_BYTES // 8

    def filled(value):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        a = pool.empty((n // 4, 4), np.float64)
        a[:] = value  # every page written
        return a, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    a, fresh = filled(1.0)
    address = a.ctypes.data
    view = a[10:20, 1]
    del a
    b, _ = filled(2.0)  # the first array's view is alive: a mapping of its own
    assert b.ctypes.data != address and np.all(view == 1.0)
    del view
    c, reused = filled(3.0)  # bound reached (b and c): the free mapping of the first is reused, not a third made
    assert c.ctypes.data == address and reused < 0.05 * fresh, (reused, fresh)
    d = pool.empty((n,), np.float64)  # beyond the bound while b and c live: an ordinary array
    assert d.base is None and pool.held() <= pool.max_bytes
    small = pool.empty((1000,), np.float64)  # below POOL_MIN_BYTES: ordinary
    assert small.base is None
    del b, c
    assert pool.lent == 0 and len(pool.free) == 2


def test_compile_options_leave_out_what_this_xla_does_not_know(monkeypatch):
    """XLA drops options between releases (jaxlib 0.11 has no ``xla_cpu_use_fusion_emitters``) and a compile with an
    unknown one fails. Oracle: XLA itself. An option it cannot know is asked about and left out; the ones the locked
    jaxlib knows stay; what ``compile_options`` gives compiles a function and leaves its value unchanged."""
    from neuroplast.engine import kernels as _kernels

    if jax.default_backend() != "cpu":
        assert _kernels.compile_options(wide=True, quick=True) == {}
        return
    bogus = "xla_cpu_neuroplast_no_such_option"
    with pytest.raises(Exception, match=f"No such compile option: '{bogus}'"):  # the message the probe reads
        jax.jit(lambda x: x + 1).lower(np.float32(0)).compile(compiler_options={bogus: True})
    recorded = _kernels._CPU_OPTIONS_KNOWN.get(importlib.metadata.version("jaxlib"))
    monkeypatch.setitem(_kernels._CPU_OPTIONS, bogus, True)
    _kernels._known_cpu_options.cache_clear()
    try:
        known = _kernels._known_cpu_options(ask=True)
        assert bogus not in known
        assert known == set(_kernels._CPU_OPTIONS) - {bogus}  # the locked jaxlib knows the three real ones
        assert recorded is None or recorded == known  # the recorded answer for this jaxlib is XLA's
        options = _kernels.compile_options(wide=True, quick=True)
        assert options == {k: v for k, v in _kernels._CPU_OPTIONS.items() if k != bogus}
        f = jax.jit(lambda x: jax.numpy.sin(x) * 2.0, compiler_options=options)
        np.testing.assert_allclose(f(np.arange(4.0)), np.sin(np.arange(4.0)) * 2.0, rtol=1e-6)  # float32 rounding
    finally:
        _kernels._known_cpu_options.cache_clear()


def test_kernels_are_traced_at_full_matmul_precision(tmp_path):
    """JAX lets a GPU compute float32 matrix products in TensorFloat-32 (10-bit mantissa) unless told otherwise; the
    engine's propagators are matrix products. Oracle: the stored kernel's own program (its StableHLO names the
    product's precision HIGHEST), and the configuration the kernel was traced under, on the calling thread and on
    the compile-ahead thread."""
    from neuroplast.engine import kernels as _kernels

    seen = []

    def fn(a, b):
        seen.append(jax.config.jax_default_matmul_precision)
        return a @ b

    x = np.arange(9.0).reshape(3, 3)
    before = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", str(tmp_path))
    try:
        np.testing.assert_allclose(_kernels.call("precision-test", fn, (x, x)), x @ x)
        key = _kernels._key("precision-test", (x, x), (), None)[0]
        program = _kernels._MEMORY[key].mlir_module()
        assert "HIGHEST" in program and "DEFAULT" not in program, program
        y = np.ones((4, 4))
        _kernels.compile_ahead("precision-test", fn, (y, y))
        np.testing.assert_allclose(_kernels.call("precision-test", fn, (y, y)), y @ y)
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
    assert seen and set(seen) == {_kernels.MATMUL_PRECISION}, seen


IMPORT_SCRIPT = """
import ctypes, ctypes.util, json, os, sys
env = dict(os.environ)
import jax
x64 = jax.config.jax_enable_x64
import neuroplast  # noqa: F401
import neuroplast.cli, neuroplast.web, neuroplast.trials, neuroplast.forecast, neuroplast.scaleout  # noqa: F401
import equinox._errors
print(json.dumps({"env_same": dict(os.environ) == env, "x64_same": jax.config.jax_enable_x64 == x64,
                  "eqx": equinox._errors.EQX_ON_ERROR, "backends": jax._src.xla_bridge._backends == {}}))
"""


@pytest.mark.slow  # a real process importing neuroplast and JAX
def test_import_changes_nothing_in_the_process(tmp_path):
    """Oracle: the process itself. ``import neuroplast`` (and its command-line, web, trial, forecast and scale-out
    modules) leaves ``os.environ`` as it was, JAX in its own precision, Equinox's runtime checks as the environment
    set them, and no JAX backend started (so a user's ``XLA_FLAGS`` still apply); tuning is
    ``neuroplast.engine.configure()``'s job alone."""
    import json

    script = tmp_path / "imports.py"
    script.write_text(IMPORT_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("EQX_ON_ERROR", "XLA_FLAGS", "JAX_ENABLE_X64")}
    out = subprocess.run(
        [sys.executable, str(script)], check=True, capture_output=True, text=True, env=env, timeout=300
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"env_same": True, "x64_same": True, "eqx": "raise", "backends": True}, got
