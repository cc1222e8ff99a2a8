"""Model oracles: SciPy reference on the whole vector field, no drug → no drug effect,
vmap equals per-patient runs, reproducibility, bounds, the inverted U."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import neuroplast as npl
from neuroplast.engine.fast import iv_rows
from neuroplast.model import Model

from .conftest import one_patient


def test_individualize_on_the_host_matches_the_device(model):
    """``Model.build(..., host=True)`` (the engines' batches) gives the same model with numpy leaves in JAX's
    dtype. Oracle: the default call (leaves put on the device), leaf by leaf, exactly."""
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 5, seed=4)
    on_device, on_host = Model.build(model.values, cohort), Model.build(model.values, cohort, host=True)
    a, tree_a = jax.tree_util.tree_flatten(on_device)
    b, tree_b = jax.tree_util.tree_flatten(on_host)
    assert tree_a == tree_b and len(a) > 50
    for x, y in zip(a, b):
        assert isinstance(y, np.ndarray) and y.dtype == x.dtype and y.shape == x.shape
        np.testing.assert_array_equal(np.asarray(x), y)


def test_iv_rows_sum_to_the_table_inputs(model):
    """``engine.fast.iv_rows`` (what the fast engine sums for an IV-only regimen) against the model's own
    ``table_inputs``: at every time, the rows on add up to its dose input, to rounding (1e-12 of the largest)."""
    reg = npl.build_regimen(
        [
            {
                "drug": "ketamine",
                "route": "iv",
                "amount": "0.5 mg/kg",
                "duration": "40 min",
                "at": ["0 d", "2 d", "4 d"],
            },
            {"drug": "esketamine", "route": "iv", "amount": "0.25 mg/kg", "duration": "1 h", "at": ["2 d"]},
            {"drug": "midazolam", "route": "iv", "amount": "0.045 mg/kg", "duration": "40 min", "at": ["1 d"]},
        ]
    )
    cohort = one_patient(model)
    ind = jax.tree_util.tree_map(lambda x: x[0], Model.build(model.values, cohort))
    table = ind.input_table(jnp.asarray(reg.event_array(np.array([70.0]), 8)[0]))
    start, end, into = (np.asarray(v) for v in iv_rows(table))
    times = np.concatenate([np.linspace(-1.0, 110.0, 997), start, end, start + 0.5])
    expected = np.asarray(jax.vmap(lambda t: ind.table_inputs(t, table)[0])(jnp.asarray(times)))  # (times, 8)
    on = (times[:, None] >= start) & (times[:, None] < end)  # (times, rows)
    np.testing.assert_allclose(on.astype(float) @ into, expected, rtol=0, atol=1e-12 * np.max(np.abs(into)))
    assert np.max(np.abs(into)) > 0


def test_full_model_matches_scipy_reference(model, single_infusion):
    """Oracle: SciPy LSODA (rtol 1e-10) on the same right-hand side, split at the infusion stop.
    Tolerance 1e-5 relative to each state's range: both solvers are converged well below it."""
    cohort = one_patient(model)
    ind = jax.tree_util.tree_map(lambda x: x[0], Model.build(model.values, cohort))
    events = single_infusion.event_array(np.array([70.0]), 8)[0]
    f = jax.jit(lambda t, y: ind.vector_field(t, y, events))
    ts = np.array([0.25, 40 / 60, 2.0, 4.0, 24.0, 72.0, 168.0])
    y, t0, ref = np.asarray(ind.initial_state()), 0.0, []
    for t in ts:
        for seg in ([40 / 60] if t0 < 40 / 60 < t else []) + [t]:
            sol = solve_ivp(lambda tt, yy: np.asarray(f(tt, yy)), (t0, seg), y, method="LSODA", rtol=1e-10, atol=1e-12)
            y, t0 = sol.y[:, -1], seg
        ref.append(y)
    ref = np.array(ref)
    sim = npl.simulate(model, single_infusion, cohort, saveat=ts, engine=npl.engine.Tsit5(rtol=1e-10, atol=1e-12))
    scale = np.abs(ref).max(axis=0) + 1e-9
    assert np.max(np.abs(sim.states[0] - ref) / scale) < 1e-5


def test_session_end_after_a_nasal_spray_is_resolved(model):
    """A 1-min nasal spray is watched for 40 min (the expectancy input switches off then, not at the spray's end).
    Oracle: SciPy LSODA (rtol 1e-10) split at every switch. The production solver (rtol 1e-6) stops there too and
    agrees to 1e-5 of each state's range; an adaptive step across the unannounced switch was off by 4e-4."""
    reg = npl.build_regimen([{"drug": "esketamine", "route": "intranasal", "amount": "56 mg", "at": ["0 d", "3 d"]}])
    cohort = one_patient(model)
    ind = jax.tree_util.tree_map(lambda x: x[0], Model.build(model.values, cohort))
    events = reg.event_array(np.array([70.0]), 8)[0]
    f = jax.jit(lambda t, y: ind.vector_field(t, y, events))
    ts = np.array([0.5, 1.0, 2.0, 4.0, 24.0, 72.0, 74.0, 96.0, 168.0])
    cuts = reg.discontinuities(model.values["session_min"] / 60.0)
    assert 40 / 60 in cuts
    y, t0, ref = np.asarray(ind.initial_state()), 0.0, []
    for t in ts:
        for seg in [c for c in cuts if t0 < c < t] + [t]:
            sol = solve_ivp(lambda tt, yy: np.asarray(f(tt, yy)), (t0, seg), y, method="LSODA", rtol=1e-10, atol=1e-12)
            y, t0 = sol.y[:, -1], seg
        ref.append(y)
    ref = np.array(ref)
    sim = npl.simulate(model, reg, cohort, saveat=ts)
    assert np.max(np.abs(sim.states[0] - ref) / (np.abs(ref).max(axis=0) + 1e-9)) < 1e-5


def test_no_drug_no_drug_effect(model):
    """Saline with expectancy switched off: every state stays at its drug-free steady state, except hippocampal
    volume, which falls at the untreated-depression slope (G04) whatever the drug does (closed form)."""
    from neuroplast.model import STATE_NAMES

    m = model.with_values(expectancy_base=0.0, expectancy_felt=0.0)
    reg = npl.build_regimen(
        [{"drug": "saline", "amount": "0 mg", "duration": "40 min", "start": "0 d", "every": "2 d", "count": 3}]
    )
    cohort = npl.sample_cohort(m.values, m.cvs, "trd", 8, seed=5)
    ts = np.linspace(0, 240, 41)
    sim = npl.simulate(m, reg, cohort, saveat=ts)
    vol = STATE_NAMES.index("hippocampal_volume")
    keep = [i for i in range(len(STATE_NAMES)) if i != vol]
    np.testing.assert_allclose(sim.states[..., keep], np.repeat(sim.states[:, :1, keep], 41, axis=1), atol=1e-12)
    slope = m.values["volume_loss_untreated"] / (365.25 * 24.0)
    np.testing.assert_allclose(sim.states[..., vol], sim.states[:, :1, vol] - slope * ts, atol=1e-9)
    assert np.all(sim.readouts["madrs_true"] == sim.readouts["madrs_true"][:, :1])


def test_vmapped_cohort_equals_per_patient_runs(model, single_infusion):
    """Batching must not change anyone's numbers (oracle: the same patient solved alone)."""
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 6, seed=11)
    ts = np.array([0.5, 4.0, 24.0, 96.0])
    together = npl.simulate(model, single_infusion, cohort, saveat=ts)
    for i in range(6):
        alone = npl.simulate(model, single_infusion, cohort.take([i]), saveat=ts)
        np.testing.assert_allclose(alone.states[0], together.states[i], rtol=1e-6, atol=1e-10)


def test_batches_on_threads_give_the_same_arrays(model, single_infusion, monkeypatch):
    """Batches solved on several threads (simulation.run_batches) give the one-thread arrays bit for bit,
    in cohort order (oracle: the same call with NEUROPLAST_THREADS=1)."""
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 30, seed=3)
    ts = np.array([0.5, 4.0, 24.0])
    solver = npl.engine.Tsit5(batch=8)  # 4 batches
    runs = []
    for threads in ("1", "3"):
        monkeypatch.setenv("NEUROPLAST_THREADS", threads)
        runs.append(npl.simulate(model, single_infusion, cohort, saveat=ts, engine=solver))
    np.testing.assert_array_equal(runs[0].states, runs[1].states)
    np.testing.assert_array_equal(runs[0].status, runs[1].status)
    for name in runs[0].readouts:
        np.testing.assert_array_equal(runs[0].readouts[name], runs[1].readouts[name])
    monkeypatch.setenv("NEUROPLAST_THREADS", "many")
    with pytest.raises(npl.NeuroplastInputError, match="NEUROPLAST_THREADS"):
        npl.simulate(model, single_infusion, cohort, saveat=ts, engine=solver)


def test_default_batch_threads_are_two_per_core_on_the_cpu(monkeypatch):
    """The documented default (simulation.batch_threads): two threads per core this process may use on the CPU,
    at most 8; NEUROPLAST_THREADS overrides it."""
    import os

    import jax

    from neuroplast.engine import batch_threads

    monkeypatch.delenv("NEUROPLAST_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    expected = min(8, 2 * cores) if jax.default_backend() == "cpu" else min(4, cores)
    assert batch_threads() == expected
    monkeypatch.setenv("NEUROPLAST_THREADS", "3")
    assert batch_threads() == 3


def test_warm_kernel_puts_every_batch_on_the_threads(model, single_infusion, monkeypatch):
    """A second solve with an already compiled kernel does not run its first batch alone (run_batches asks
    ``_kernels.ran``): both batches go to the thread pool, and the arrays are the same as the first solve's."""
    import concurrent.futures

    monkeypatch.setenv("NEUROPLAST_THREADS", "2")
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 16, seed=4)
    ts = np.array([0.5, 4.0, 24.0])
    solver = npl.engine.Tsit5(batch=8)  # 2 batches
    seen = []
    pool_map = concurrent.futures.ThreadPoolExecutor.map

    def spy(self, fn, items, **kw):
        seen.append(list(items))
        return pool_map(self, fn, seen[-1], **kw)

    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "map", spy)
    first = npl.simulate(model, single_infusion, cohort, saveat=ts, engine=solver)  # cold or warm: either way
    second = npl.simulate(model, single_infusion, cohort, saveat=ts, engine=solver)  # warm now
    assert seen and seen[-1] == [0, 8], seen
    np.testing.assert_array_equal(first.states, second.states)


def test_same_seed_same_numbers(model):
    from neuroplast.trials import load_spec, run_trial

    spec = load_spec("examples/ketamine_vs_midazolam.toml")
    a = run_trial(spec, n_per_arm=12, seed=7).summary
    b = run_trial(spec, n_per_arm=12, seed=7).summary
    c = run_trial(spec, n_per_arm=12, seed=8).summary
    assert a == b
    assert a != c


def test_read_outs_within_bounds(model, single_infusion):
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 32, seed=2)
    sim = npl.simulate(model, single_infusion, cohort, saveat=np.linspace(0, 168, 200))
    r = sim.readouts
    for k in ("occupancy_pyramidal", "occupancy_interneuron", "sedation", "expectancy"):
        assert np.all((r[k] >= 0) & (r[k] <= 1)), k
    assert np.all(r["occupancy_interneuron"] >= r["occupancy_pyramidal"])  # interneurons blocked more
    assert np.all(r["ketamine_plasma"] >= -1e-6) and np.all(r["madrs_true"] >= 0)
    assert np.all(sim.status == npl.PatientStatus.ok)


def test_inverted_u_of_the_glutamate_surge(model):
    """C01: the surge is positive at subanaesthetic block and reverses at anaesthetic block."""
    ind = jax.tree_util.tree_map(lambda x: x[0], Model.build(model.values, one_patient(model)))
    um = np.array([0.3, 0.78, 8.0])  # effect-site racemic uM: low, the antidepressant peak (A34), anaesthetic (A35)
    occ_p, occ_i = ind.nmda.occupancy(0.5 * um, 0.5 * um, 0.0 * um, 0.0 * um)
    e = np.asarray(ind.cascade.excitation(occ_p, occ_i))
    assert e[0] > 0 and e[1] > 0 and e[2] < 0


def test_occupancies_stay_in_unit_interval_and_esketamine_is_more_potent(model):
    """Property (hypothesis): any non-negative concentrations give NMDA and SERT occupancies in
    [0, 1] (SERT below its Emax), interneurons blocked at least as much as pyramidal cells; and
    (S)-ketamine blocks more than the same concentration of racemate (Ki B01 < B02)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    ind = jax.tree_util.tree_map(lambda x: x[0], Model.build(model.values, one_patient(model)))
    conc = st.floats(min_value=0.0, max_value=1e4, allow_nan=False)

    @settings(max_examples=200, deadline=None)
    @given(conc, conc, conc, conc, conc, conc)
    def check(s, r, sn, rn, esc, ser):
        p, i = (float(x) for x in ind.nmda.occupancy(s, r, sn, rn))
        assert 0.0 <= p <= i <= 1.0
        o = float(ind.sert.occupancy(esc, ser))
        assert 0.0 <= o <= float(ind.sert.emax)

    check()
    s_only = float(ind.nmda.occupancy(1.0, 0.0, 0.0, 0.0)[0])
    racemic = float(ind.nmda.occupancy(0.5, 0.5, 0.0, 0.0)[0])
    assert s_only > racemic
    assert float(ind.nmda.racemic_equivalent(0.5, 0.5)) == np.float64(1.0)


def test_failed_patient_is_flagged_not_averaged(model, single_infusion):
    """A step limit makes the solve fail: the patient gets a status code, no exception."""
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 4, seed=1)
    sim = npl.simulate(
        model, single_infusion, cohort, saveat=np.array([0.0, 24.0]), engine=npl.engine.Tsit5(max_steps=5)
    )
    assert np.all(sim.status == npl.PatientStatus.solver_failed)


def test_event_window_reads_every_live_event(model):
    """A 52-week daily sertraline + weekly CBT table (416 rows, padded to 512) is read through a moving window
    of 8 rows. Oracle: the right-hand side on the whole table, at random times and states along the
    trajectory; the rows left out contribute below float64 rounding (e^-45 of a dose's flux), so the two
    agree to 1e-14 relative. Short tables (the ketamine trials) are read whole."""
    from neuroplast.engine.adaptive import _window, event_window

    reg = npl.build_regimen(
        [{"drug": "sertraline", "route": "oral", "amount": "50 mg", "every": "1 d", "count": 364}],
        therapy=[{"kind": "cbt", "every": "7 d", "count": 52}],
    )
    lookback, k = event_window(reg, model, 512)
    assert k == 8 and 45.0 / model.values["ka_ser"] < lookback < 100.0
    six = npl.build_regimen(
        [{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "every": "2 d", "count": 6}]
    )
    assert event_window(six, model, 8) == (0.0, None)
    cohort = one_patient(model)
    ind = jax.tree_util.tree_map(lambda x: x[0], Model.build(model.values, cohort))
    ev = jax.numpy.asarray(reg.event_array(cohort.table["weight_kg"].to_numpy(), 512))[0]
    full = jax.jit(lambda t, y: ind.vector_field(t, y, ev))
    window = jax.jit(lambda t, y: ind.vector_field(t, y, _window(ev, t, lookback, k)))
    ts = np.arange(0.0, 364 * 24.0 + 1e-9, 7 * 24.0)
    states = npl.simulate(model, reg, cohort, saveat=ts).states[0]
    rng = np.random.default_rng(0)
    for i in range(len(ts) - 1):
        t = ts[i] + rng.uniform(0.0, 7 * 24.0)
        a, b = np.asarray(full(t, states[i])), np.asarray(window(t, states[i]))
        np.testing.assert_allclose(b, a, rtol=1e-14, atol=1e-300)
