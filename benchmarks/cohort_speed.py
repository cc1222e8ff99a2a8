"""Benchmark: a 10,000-patient cohort over 12 weeks with six 0.5 mg/kg IV ketamine infusions
in the first 2 weeks, through the production engine and through SciPy, side by side in one run.

    uv run python benchmarks/cohort_speed.py [--patients 10000] [--json FILE] [--float32]

Measured, in this order:

* compile time in two child processes with the run's fresh persistent-cache folder: ``compile_s_cold``
  (first run writes the cache; the method's kernels are new to it) and ``compile_s_cached`` (second process
  reads it). Each child times its first ``simulate`` call on one batch and subtracts a second, warm call of the
  same shape;
* (a) the engine: ``neuroplast.simulate`` on every patient, warm (one batch run before the clock), in a process
  that uses the same folder as the CLI does (``_kernels.use_cache``): it loads what the children compiled instead
  of compiling a third time (minutes of a lent GPU's time; the programs are the same, tests/test_kernels.py);
  patients lost to step limits or non-finite states are counted (``patients_failed``);
* (b) SciPy ``solve_ivp`` (LSODA) one patient at a time, on a random subset of the same patients,
  and (c) SciPy LSODA on that subset stacked into one system, both at the engine's rtol/atol and split
  at every infusion start and stop (the discontinuities). Both call the model's own
  ``vector_field`` compiled with ``jax.jit`` on the CPU in float64 — the same right-hand side, not a
  port; (c) uses ``vmap`` of it. LSODA estimates its Jacobian by finite differences in both.
  Their cost per patient is scaled to the whole cohort;
* accuracy: the reference is SciPy LSODA at rtol 1e-10, atol 1e-12 (same right-hand side, split at
  the discontinuities) on a few patients; ``max_abs_error_vs_reference`` is the largest absolute
  difference of any state (internal units: umol, uM, dimensionless) at any saved time;
  ``max_abs_error_by_readout`` gives it per read-out in the read-out's unit (``model.READOUT_UNITS``).

``ms per patient-month`` = wall time / (patients x 84 d / 30.44 d). Peak memory is the process's
maximum resident set (``ru_maxrss``). The script runs on whatever JAX backend is present (the
device is printed); ``--float32`` turns float64 off and loosens the tolerances to rtol 1e-4 /
atol 1e-7 (float32 cannot honour 1e-9).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

DAYS = 84.0
MONTH_D = 365.25 / 12
DOSES = [
    {
        "drug": "ketamine",
        "route": "iv",
        "amount": "0.5 mg/kg",
        "duration": "40 min",
        "at": ["0 d", "2 d", "4 d", "7 d", "9 d", "11 d"],
    }
]  # Mon/Wed/Fri for 2 weeks (Murrough 2013 schedule)
REF_RTOL, REF_ATOL = 1e-10, 1e-12


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(args):

    import neuroplast as npl

    npl.engine.configure(x64=not args.float32)  # as the CLI does
    model = npl.default_model()
    regimen = npl.build_regimen(DOSES)
    saveat = np.arange(0.0, DAYS * 24.0 + 1e-9, args.every_h)
    solver = npl.engine.by_name(getattr(args, "method", "tsit5"))
    if getattr(args, "batch", None):
        solver = dataclasses.replace(solver, batch=args.batch)
    if args.float32 and not isinstance(solver, npl.engine.Fast):  # the adaptive engines' tolerances in float32
        solver = dataclasses.replace(solver, rtol=1e-4, atol=1e-7)
    return npl, model, regimen, saveat, solver


def compile_probe(args) -> None:
    """Child process: time the first and a second simulate() call on one batch; print JSON."""
    import jax

    jax.config.update("jax_compilation_cache_dir", args.compile_probe)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    npl, model, regimen, saveat, solver = setup(args)
    n = solver.batch or 256  # --batch, else 256 patients (the adaptive engines' own batch)
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", n, seed=2)
    t0 = time.perf_counter()
    npl.simulate(model, regimen, cohort, saveat=saveat, engine=solver)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    npl.simulate(model, regimen, cohort, saveat=saveat, engine=solver)
    second = time.perf_counter() - t0
    print(json.dumps({"first_s": first, "second_s": second}))


def measure_compile(args) -> tuple[float, float]:
    cache = args.cache
    cmd = [sys.executable, __file__, "--compile-probe", cache, "--every-h", str(args.every_h), "--method", args.method]
    if args.batch:
        cmd += ["--batch", str(args.batch)]
    if args.float32:
        cmd.append("--float32")
    out = []
    for _ in range(2):  # cold (empty cache), then cached
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        p = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        out.append(max(0.0, r["first_s"] - r["second_s"]))
    return out[0], out[1]


def scipy_inputs(model, regimen, cohort, idx):
    """Per-patient models and event tables exactly as the engine builds them (public helpers)."""
    import jax

    from neuroplast.model import Model

    part = cohort.take(idx)
    ind = Model.build(model.values, part)
    n_ev = max(8, -(-len(regimen.doses) // 8) * 8)
    events = regimen.event_array(part.table["weight_kg"].to_numpy(), n_ev)
    ones = [jax.tree_util.tree_map(lambda x, i=i: x[i], ind) for i in range(len(idx))]
    return ind, events, ones


def segments(regimen, t_end):
    cuts = [t for t in regimen.jump_times if 0.0 < t < t_end]
    return list(zip([0.0, *cuts], [*cuts, t_end]))


def solve_segments(fun, y0, segs, saveat, rtol, atol):
    """LSODA from 0 to the end, restarted at every discontinuity; returns (len(saveat), n) and RHS calls."""
    from scipy.integrate import solve_ivp

    out = np.full((saveat.size, y0.size), np.nan)
    y, nfev, t_end = np.asarray(y0, float), 0, segs[-1][1]
    for a, b in segs:
        sel = np.flatnonzero((saveat >= a) & ((saveat < b) | ((b == t_end) & (saveat <= b))))
        te = np.unique(np.concatenate([saveat[sel], [b]]))
        sol = solve_ivp(fun, (a, b), y, method="LSODA", rtol=rtol, atol=atol, t_eval=te)
        if not sol.success:
            raise RuntimeError(f"SciPy LSODA failed: {sol.message}")
        nfev += sol.nfev
        out[sel] = sol.y[:, np.searchsorted(te, saveat[sel])].T
        y = sol.y[:, -1]
    return out, nfev


def scipy_loop(ones, events, regimen, saveat, rtol, atol):
    import jax

    rhs = jax.jit(lambda t, y, m, ev: m.vector_field(t, y, ev))
    segs = segments(regimen, saveat[-1])
    results, nfev = [], 0
    # warm the compiled RHS before the clock (compile time is not what this measures)
    np.asarray(rhs(0.0, np.asarray(ones[0].initial_state()), ones[0], events[0]))
    t0 = time.perf_counter()
    for one, ev in zip(ones, events):
        y, nf = solve_segments(
            lambda t, y, one=one, ev=ev: np.asarray(rhs(t, y, one, ev)),
            np.asarray(one.initial_state()),
            segs,
            saveat,
            rtol,
            atol,
        )
        results.append(y)
        nfev += nf
    return (time.perf_counter() - t0) / len(ones), results, nfev


def scipy_stacked(ind, events, regimen, saveat, rtol, atol):
    import jax

    k = events.shape[0]
    y0 = np.asarray(jax.vmap(lambda m: m.initial_state())(ind))
    n = y0.shape[1]
    rhs = jax.jit(
        lambda t, y, m, ev: jax.vmap(lambda mm, yy, ee: mm.vector_field(t, yy, ee))(m, y.reshape(k, n), ev).reshape(-1)
    )
    fun = lambda t, y: np.asarray(rhs(t, y, ind, events))  # noqa: E731
    fun(0.0, y0.reshape(-1))
    t0 = time.perf_counter()
    out, nfev = solve_segments(fun, y0.reshape(-1), segments(regimen, saveat[-1]), saveat, rtol, atol)
    return (time.perf_counter() - t0) / k, out.reshape(saveat.size, k, n).transpose(1, 0, 2), nfev


def scipy_child(a, rtol, atol):
    """Run (b), (c) and the reference in a child process on the CPU in float64 (whatever the engine ran
    on), on the same patients; returns the subset, timings, RHS call counts and saved states."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "scipy.npz")
        cmd = [
            sys.executable,
            __file__,
            "--scipy-child",
            path,
            "--patients",
            str(a.patients),
            "--seed",
            str(a.seed),
            "--every-h",
            str(a.every_h),
            "--scipy-patients",
            str(a.scipy_patients),
            "--stacked-patients",
            str(a.stacked_patients),
            "--reference-patients",
            str(a.reference_patients),
            "--scipy-tol",
            f"{rtol!r},{atol!r}",
        ]
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONWARNINGS": "ignore"}
        subprocess.run(cmd, check=True, env=env)
        r = np.load(path)
        return (
            r["idx"],
            float(r["loop_s"]),
            float(r["stacked_s"]),
            float(r["loop_nfev"]),
            float(r["stacked_nfev"]),
            r["loop_ys"],
            r["ref_ys"],
        )


def scipy_main(a) -> None:
    import jax

    npl, model, regimen, saveat, solver = setup(a)  # float64 (no --float32 here), CPU only (JAX_PLATFORMS)
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", a.patients, seed=a.seed)  # the engine's patients
    rng = np.random.default_rng(a.seed)
    k = max(a.scipy_patients, a.stacked_patients, a.reference_patients)
    idx = np.sort(rng.choice(a.patients, size=min(k, a.patients), replace=False))
    ind, events, ones = scipy_inputs(model, regimen, cohort, idx)
    rtol, atol = (float(x) for x in a.scipy_tol.split(","))  # the engine's, also under --float32
    kl = a.scipy_patients
    loop_s, loop_ys, loop_nfev = scipy_loop(ones[:kl], events[:kl], regimen, saveat, rtol, atol)
    print(f"  scipy loop done: {1e3 * loop_s:.0f} ms per patient", flush=True)
    ks = a.stacked_patients
    sub = jax.tree_util.tree_map(lambda x: x[:ks], ind)
    stacked_s, _, stacked_nfev = scipy_stacked(sub, events[:ks], regimen, saveat, rtol, atol)
    m = a.reference_patients
    _, ref_ys, _ = scipy_loop(ones[:m], events[:m], regimen, saveat, REF_RTOL, REF_ATOL)
    np.savez(
        a.scipy_child,
        idx=idx,
        loop_s=loop_s,
        stacked_s=stacked_s,
        loop_nfev=loop_nfev / max(1, len(loop_ys)),
        stacked_nfev=stacked_nfev,
        loop_ys=np.array(loop_ys),
        ref_ys=np.array(ref_ys),
    )


def run_engine(a) -> dict:
    """(a): compile times (child processes) and the warm engine run of one solver method."""
    compile_cold, compile_cached = (None, None) if a.no_compile else measure_compile(a)
    if a.cache:  # before this process compiles anything (JAX reads the folder at its first compile)
        from neuroplast.engine import kernels as _kernels

        _kernels.use_cache(a.cache)
    npl, model, regimen, saveat, solver = setup(a)
    import jax

    dev = jax.devices()[0]
    device = f"{dev.platform}: {getattr(dev, 'device_kind', str(dev))}"
    print(
        f"[{a.method}] device {device}; float{'32' if a.float32 else '64'}; {a.patients} patients, "
        f"{DAYS:g} days, {saveat.size} saved times",
        flush=True,
    )
    rss_start = rss_mb()
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", a.patients, seed=a.seed)
    # compile outside the clock, and warm every batch thread twice: a thread's first batches run slower (measured:
    # after one warm batch, 768 patients took 0.53 and 0.48 s, then 0.36-0.39 s; benchmarks/README.md)
    from neuroplast.engine import batch_threads

    warm = cohort.take(np.arange(min(a.patients, 2 * batch_threads() * solver.batch_size(a.patients))))
    done = []  # patients per batch as the engine reports them: the batch size it ran, not the one asked for
    npl.simulate(model, regimen, warm, saveat=saveat, engine=solver, progress=done.append)
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        sim = npl.simulate(model, regimen, cohort, saveat=saveat, engine=solver)
        times.append(time.perf_counter() - t0)
    engine_s = float(np.median(times))
    failed = int((~sim.ok).sum())
    per_pm = 1e3 * engine_s / (a.patients * DAYS / MONTH_D)
    print(
        f"[{a.method}] engine: {engine_s:.2f} s (median of {a.repeats}), {per_pm:.4f} ms per patient-month, "
        f"{failed} patients failed",
        flush=True,
    )
    one_batch = None
    if a.method == "fast":  # where a batch's time goes: its step attempts (on a GPU: per-attempt cost vs batch)
        stats = []
        first = cohort.take(np.arange(max(done)))
        t0 = time.perf_counter()
        solver.run(model, regimen, first, saveat, stats=stats)
        wall = time.perf_counter() - t0
        accepted, rejected = (int(np.sum(v)) for v in stats[0])
        one_batch = {
            "patients": max(done),
            "wall_s": wall,
            "accepted_steps": accepted,
            "rejected_steps": rejected,
            "us_per_attempt": 1e6 * wall / (accepted + rejected),
        }
        print(
            f"[fast] one batch of {max(done)} alone: {wall:.3f} s (its set-up included), {accepted} accepted + "
            f"{rejected} rejected steps, {one_batch['us_per_attempt']:.1f} us per attempt",
            flush=True,
        )
    return dict(
        device=device,
        cohort=cohort,
        rss_start=rss_start,
        sim=sim,
        engine_s=engine_s,
        per_pm=per_pm,
        failed=failed,
        compile_cold=compile_cold,
        compile_cached=compile_cached,
        rss_engine=rss_mb(),
        engine=solver,
        batch=max(done),
        one_batch=one_batch,
    )


def engine_record(r: dict) -> dict:
    """A method's engine figures (from :func:`run_engine`) under the JSON's names."""
    return {
        "engine_s": r["engine_s"],
        "engine_ms_per_patient_month": r["per_pm"],
        "patients_failed": r["failed"],
        "compile_s_cold": r["compile_cold"],
        "compile_s_cached": r["compile_cached"],
        "peak_rss_after_engine_mb": r["rss_engine"],
        "batch": r["batch"],
        "one_batch": r["one_batch"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--scipy-patients", type=int, default=6, help="random subset solved one by one with SciPy")
    ap.add_argument("--stacked-patients", type=int, default=6, help="random subset solved as one stacked system")
    ap.add_argument("--reference-patients", type=int, default=2, help="patients solved at rtol 1e-10 for the error")
    ap.add_argument("--every-h", type=float, default=6.0, help="save interval, hours (default 6 h: 337 saved times)")
    ap.add_argument("--float32", action="store_true")
    ap.add_argument(
        "--methods",
        default="fast,tsit5",
        help="engine methods, comma-separated; the first gives the top-level keys (default fast,tsit5)",
    )
    ap.add_argument("--method", default="tsit5", help=argparse.SUPPRESS)
    ap.add_argument(
        "--batch",
        type=int,
        default=None,
        help="patients per compiled batch (default: the engine's, neuroplast.engine.Engine.batch_size)",
    )
    ap.add_argument("--repeats", type=int, default=3, help="warm engine runs; the median is reported")
    ap.add_argument("--no-compile", action="store_true", help="skip the compile-time child processes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None)
    ap.add_argument("--compile-probe", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--scipy-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--scipy-tol", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.compile_probe:
        return compile_probe(a)
    if a.scipy_child:
        return scipy_main(a)

    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    a.cache = None if a.no_compile else tempfile.mkdtemp(prefix="neuroplast-bench-cache-")
    runs = {}
    for method in methods:
        a.method = method
        runs[method] = run_engine(a)
    if a.json:  # the engine's figures now, marked partial: a run stopped later (a device's time limit) keeps them
        with open(a.json, "w") as fh:
            json.dump(
                {
                    "partial": True,
                    "patients": a.patients,
                    "float": 32 if a.float32 else 64,
                    "device": runs[methods[0]]["device"],
                    "methods": {m: engine_record(r) for m, r in runs.items()},
                },
                fh,
                indent=1,
            )
    a.method = methods[0]
    r0 = runs[methods[0]]
    npl, model, regimen, saveat, solver = setup(a)
    import jax

    device, cohort, rss_start = r0["device"], r0["cohort"], r0["rss_start"]
    idx, loop_s, stacked_s, loop_nfev, stacked_nfev, loop_ys, ref_ys = scipy_child(a, solver.rtol, solver.atol)
    months = DAYS / MONTH_D
    loop_pm, stacked_pm = 1e3 * loop_s / months, 1e3 * stacked_s / months
    print(
        f"scipy loop: {1e3 * loop_s:.0f} ms per patient ({loop_pm:.2f} ms per patient-month); "
        f"stacked ({a.stacked_patients} patients): {1e3 * stacked_s:.0f} ms per patient",
        flush=True,
    )
    ks = a.stacked_patients

    # accuracy against the tight-tolerance reference (the first reference-patients of the subset)
    from neuroplast.model import STATE_NAMES

    m = a.reference_patients
    ro = jax.jit(lambda mm, ys: mm.readouts(ys))
    ones = scipy_inputs(model, regimen, cohort, idx[:m])[2]
    err_loop = 0.0
    for j in range(min(m, len(loop_ys))):
        err_loop = max(err_loop, float(np.max(np.abs(loop_ys[j] - ref_ys[j]))))
    ref_ro = [
        {k_: np.asarray(v, float) for k_, v in ro(ones[j], jax.numpy.asarray(ref_ys[j])).items()} for j in range(m)
    ]
    per_method = {}
    for method, r in runs.items():
        sim = r["sim"]
        err_state, by_readout, by_state = 0.0, {}, {}
        for j in range(m):
            eng = np.asarray(sim.states[idx[j]], float)
            err_state = max(err_state, float(np.max(np.abs(eng - ref_ys[j]))))
            for i, name in enumerate(STATE_NAMES):  # the error and the state's largest value (internal units)
                e, top_ = float(np.max(np.abs(eng[:, i] - ref_ys[j][:, i]))), float(np.max(np.abs(ref_ys[j][:, i])))
                old_e, old_top = by_state.get(name, (0.0, 0.0))
                by_state[name] = (max(old_e, e), max(old_top, top_))
            for name, arr in sim.readouts.items():
                e = float(np.max(np.abs(np.asarray(arr[idx[j]], float) - ref_ro[j][name])))
                by_readout[name] = max(by_readout.get(name, 0.0), e)
        per_method[method] = {
            **engine_record(r),
            "ratio_vs_scipy_loop": loop_pm / r["per_pm"],
            "ratio_vs_scipy_stacked": stacked_pm / r["per_pm"],
            "max_abs_error_vs_reference": err_state,
            "max_abs_error_by_readout": by_readout,
            "solver": dataclasses.asdict(r["engine"]),  # the engine object and its settings
            "max_abs_error_by_state": {k_: {"error": e, "largest_value": v} for k_, (e, v) in by_state.items()},
        }
        if method == "fast":  # the fast engine's own step control (rtol/atol of its own, not Tsit5's)
            from neuroplast.engine import Fast

            per_method[method]["fast_settings"] = dataclasses.asdict(Fast())
        del r["sim"]
    top = per_method[methods[0]]
    engine_s, per_pm, failed = top["engine_s"], top["engine_ms_per_patient_month"], top["patients_failed"]
    compile_cold, compile_cached = top["compile_s_cold"], top["compile_s_cached"]
    rss_engine = top["peak_rss_after_engine_mb"]
    err_state, by_readout = top["max_abs_error_vs_reference"], top["max_abs_error_by_readout"]

    out = {
        "patients": a.patients,
        "months": months,
        "days": DAYS,
        "saved_times": int(saveat.size),
        "regimen": "6 x 0.5 mg/kg IV ketamine over 40 min at days 0, 2, 4, 7, 9, 11",
        "population": "trd",
        "device": device,
        "float": 32 if a.float32 else 64,
        "engine": "neuroplast.simulate",
        "method": methods[0],
        "methods": per_method,
        "solver": {k_: v for k_, v in dataclasses.asdict(solver).items()},
        "engine_s": engine_s,
        "engine_ms_per_patient_month": per_pm,
        "patients_failed": failed,
        "scipy_loop_ms_per_patient_month": loop_pm,
        "scipy_loop_patients": len(loop_ys),
        "scipy_stacked_ms_per_patient_month": stacked_pm,
        "scipy_stacked_patients": ks,
        "scipy_rhs_calls_per_patient": loop_nfev,
        "scipy_stacked_rhs_calls": stacked_nfev,
        "ratio_vs_scipy_loop": loop_pm / per_pm,
        "ratio_vs_scipy_stacked": stacked_pm / per_pm,
        "compile_s_cold": compile_cold,
        "compile_s_cached": compile_cached,
        "peak_rss_mb": rss_mb(),
        "rss_before_cohort_mb": rss_start,
        "peak_rss_after_engine_mb": rss_engine,
        "reference": f"SciPy LSODA rtol {REF_RTOL:g} atol {REF_ATOL:g}, same RHS, split at infusion starts/stops",
        "reference_patients": m,
        "max_abs_error_vs_reference": err_state,
        "scipy_loop_max_abs_error_vs_reference": err_loop,
        "max_abs_error_by_readout": by_readout,
        "max_abs_error_by_state": top["max_abs_error_by_state"],
        "targets": {"engine_ms_per_patient_month": 0.1, "ratio_vs_scipy_loop": 300, "compile_s_cold": 5.0},
    }
    print()
    print(f"{'measure':38s} {'value':>12s}  target")
    for key, target in (
        ("engine_ms_per_patient_month", "<= 0.1"),
        ("scipy_loop_ms_per_patient_month", ""),
        ("scipy_stacked_ms_per_patient_month", ""),
        ("ratio_vs_scipy_loop", ">= 300"),
        ("ratio_vs_scipy_stacked", ""),
        ("patients_failed", "0"),
        ("compile_s_cold", "<= 5"),
        ("compile_s_cached", "~0"),
        ("peak_rss_mb", ""),
        ("max_abs_error_vs_reference", ""),
        ("scipy_loop_max_abs_error_vs_reference", ""),
    ):
        v = out[key]
        print(f"{key:38s} {('n/a' if v is None else f'{v:.4g}'):>12s}  {target}")
    print(f"{'max abs error, madrs_true (points)':38s} {by_readout.get('madrs_true', float('nan')):>12.3g}")
    worst = max(out["max_abs_error_by_state"].items(), key=lambda kv: kv[1]["error"])
    print(
        f"{'worst state (error / its largest value)':38s} {worst[0]}: {worst[1]['error']:.3g} / {worst[1]['largest_value']:.3g}"
    )
    print()
    cols = list(per_method)
    print(f"{'method (side by side)':38s} " + " ".join(f"{c:>12s}" for c in cols))
    for key in (
        "engine_ms_per_patient_month",
        "ratio_vs_scipy_loop",
        "ratio_vs_scipy_stacked",
        "patients_failed",
        "compile_s_cold",
        "compile_s_cached",
        "max_abs_error_vs_reference",
    ):
        vals = [per_method[c][key] for c in cols]
        print(f"{key:38s} " + " ".join(f"{('n/a' if v is None else f'{v:.4g}'):>12s}" for v in vals))
    vals = [per_method[c]["max_abs_error_by_readout"].get("madrs_true", float("nan")) for c in cols]
    print(f"{'max abs error, madrs_true (points)':38s} " + " ".join(f"{v:>12.3g}" for v in vals))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
