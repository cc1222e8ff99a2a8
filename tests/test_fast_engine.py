"""The fast engine (``neuroplast.engine.Fast``) against the reference engine.

Oracle: the production engine (diffrax Tsit5, adaptive, stopped at every input start/stop) at
rtol 1e-9 / atol 1e-11 on the same model, float64 — its own error is far below the tolerances here
(benchmarks/README.md: 1e-6 at rtol 1e-6). Tolerances, and why:

* PK read-outs (``*_plasma``, ``*_effect_site``) within 0.5 % of their peak: the PK block is solved in
  closed form (matrix exponentials); only the quadrature of the smooth depot outflows approximates;
* every other read-out within 1 % of its peak (safety: CADSS, blood pressure, heart rate, sedation;
  receptors, signalling, spines, mood): the non-PK block is a second-order Rosenbrock scheme with error
  control at rtol 5e-3 / atol 2e-4 (the defaults), measured at up to 0.54 % of the peak (glutamate) on 256
  patients;
* true MADRS within 0.15 points (measured up to 0.047 points on 256 patients over 84 days, 0.11 in the
  repeated-infusion example trial's 128 patients): a tenth of the scale's rater noise (SD 1.6 points,
  registry ``madrs_noise_sd``) and below its resolution (integer items). ``test_error_control`` checks that
  the error falls with rtol.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.engine import fast as fast_engine

REF = npl.engine.Tsit5(rtol=1e-9, atol=1e-11, batch=8)
FAST = npl.engine.Fast(batch=8)


@pytest.fixture(scope="module")
def model():
    return npl.default_model()


def _cohort(model, n=3):
    """Typical patients plus extreme random effects (5th-95th percentile and beyond)."""
    c = npl.sample_cohort(model.values, model.cvs, "trd", n, seed=11)
    t = c.table.copy()
    extremes = [
        dict(weight_kg=45.0, eta_cl_ket=0.4, eta_v1_ket=0.5, eta_stress_load=2.0, eta_cl_esc=0.4),
        dict(
            weight_kg=140.0,
            eta_cl_ket=2.5,
            eta_v1_ket=2.0,
            eta_stress_load=0.4,
            eta_cl_esc=2.5,
            eta_cadss_per_100ng=2.5,
            eta_sbp_per_100ng=2.5,
        ),
    ]
    for i, row in enumerate(extremes[: n - 1]):
        for k, v in row.items():
            t.loc[t.index[i + 1], k] = v
    return npl.Cohort(c.population, t)


def _compare(model, doses, saveat, n=3):
    regimen = npl.build_regimen(doses)
    cohort = _cohort(model, n)
    ref = npl.simulate(model, regimen, cohort, saveat=saveat, engine=REF)
    fast = npl.simulate(model, regimen, cohort, saveat=saveat, engine=FAST)
    assert np.all(ref.ok) and np.all(fast.ok)
    assert set(fast.readouts) == set(ref.readouts) and fast.states.shape == ref.states.shape
    worst = {}
    for name, r in ref.readouts.items():
        f = fast.readouts[name]
        assert f.shape == r.shape
        peak = float(np.max(np.abs(r)))
        err = float(np.max(np.abs(f - r)))
        pk = name.endswith("_plasma") or name.endswith("_effect_site")
        tol = (0.005 if pk else 0.01) * peak + 1e-9
        worst[name] = err / max(peak, 1e-300)
        assert err <= tol, f"{name}: max error {err:.3g} > {tol:.3g} (peak {peak:.3g})"
    madrs_err = float(np.max(np.abs(fast.readouts["madrs_true"] - ref.readouts["madrs_true"])))
    assert madrs_err <= 0.15, madrs_err
    return worst


@pytest.mark.slow  # the tight-tolerance reference takes ~30-60 s on 2 shared cores
def test_single_infusion(model):
    _compare(
        model,
        [{"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}],
        np.concatenate([[0, 0.25, 0.5, 2 / 3, 1, 2, 4], np.arange(6, 7 * 24 + 1, 6)]),
    )


@pytest.mark.slow  # the tight-tolerance reference takes ~30-60 s on 2 shared cores
def test_repeated_infusions(model):
    _compare(
        model,
        [
            {
                "drug": "ketamine",
                "route": "iv",
                "amount": "0.5 mg/kg",
                "duration": "40 min",
                "at": ["0 d", "2 d", "4 d", "7 d"],
            }
        ],
        np.arange(0.0, 14 * 24 + 1, 3.0),
    )


@pytest.mark.slow  # the tight-tolerance reference takes ~30-60 s on 2 shared cores
def test_intranasal_esketamine(model):
    _compare(
        model,
        [
            {
                "drug": "esketamine",
                "route": "intranasal",
                "amount": "56 mg",
                "start": "0 d",
                "every": "3.5 d",
                "count": 2,
            }
        ],
        np.arange(0.0, 7 * 24 + 1, 0.5),
    )


@pytest.mark.slow  # the tight-tolerance reference takes ~30-60 s on 2 shared cores
def test_daily_oral_escitalopram(model):
    _compare(
        model,
        [{"drug": "escitalopram", "route": "oral", "amount": "10 mg", "start": "0 d", "every": "1 d", "count": 14}],
        np.arange(0.0, 16 * 24 + 1, 4.0),
    )


def test_no_patient_lost_and_one_compile(model, monkeypatch):
    """200 sampled patients: none flagged, all finite (no step limit to hit: the shortest step is always
    accepted). Two cohort sizes with the same batch shape trace the compiled kernel at most once; the patients of
    a batch share its step sizes, so the same batch gives the same numbers."""
    regimen = npl.build_regimen(
        [{"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d", "2 d", "4 d"]}]
    )
    saveat = np.arange(0.0, 21 * 24 + 1, 6.0)
    solver = npl.engine.Fast(batch=64)
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 200, seed=5)
    traces = []
    impl = fast_engine._solve_batch_impl
    monkeypatch.setattr(fast_engine, "_solve_batch_impl", lambda *a, **k: (traces.append(1), impl(*a, **k))[1])
    sim = npl.simulate(model, regimen, cohort, saveat=saveat, engine=solver)
    assert sim.status.shape == (200,) and np.all(sim.status == npl.PatientStatus.ok)
    assert np.all(np.isfinite(sim.states))
    # the regimen gives no midazolam or oral antidepressant: those PK states are skipped (never propagated) and stay exactly 0
    from neuroplast import model as model_module

    layout = model_module.LAYOUT
    assert np.all(sim.states[:, :, layout["midazolam"]] == 0.0) and np.all(
        sim.states[:, :, layout["antidepressants"]] == 0.0
    )
    n_first = len(traces)
    assert n_first <= 1
    small = npl.simulate(model, regimen, cohort.take(np.arange(70)), saveat=saveat, engine=solver)
    assert len(traces) == n_first  # a 70-patient cohort reuses the 200-patient compilation
    # the same batch gives the same numbers; a patient in another batch may take other steps (the step size is
    # the batch's: its worst patient's), so agrees within the engine's tolerances (see _compare)
    np.testing.assert_array_equal(small.states[:64], sim.states[:64])
    np.testing.assert_allclose(
        small.states[64:], sim.states[64:70], rtol=0, atol=0.01 * float(np.max(np.abs(sim.states)))
    )
    assert np.max(np.abs(small.readouts["madrs_true"] - sim.readouts["madrs_true"][:70])) <= 0.15


def _random_jacobian(rng, pattern, k=16):
    """Jacobians on ``pattern`` shaped like the engine's: couplings of either sign, decaying diagonal."""
    n = pattern.shape[0]
    jac = rng.normal(0.0, 0.3, size=(k, n, n)) * pattern - np.eye(n) * rng.uniform(0.001, 4.0, size=(k, 1, n))
    return jac


@pytest.mark.parametrize("kind", ["model", "cycles", "dense"])
def test_sparse_lu_solve(kind):
    """Oracle: NumPy's dense solve of ``(I - gamma h J) x = v``, the dense Jacobian for its entries read off
    the colour groups' directional derivatives (exact), and the dense product for ``J v``. Patterns: the default
    model's non-PK Jacobian (no cycle: no fill-in), the same with two feedback loops (fill-in) and a dense one.
    Tolerance 1e-12 of the solution's size: rounding of a 12 x 12 elimination at condition numbers < 1e2."""
    from neuroplast.engine.sparse import Plan

    rng = np.random.default_rng(3)
    pattern = np.zeros((12, 12), bool)
    for i, cols in enumerate(
        [[0], [0, 1], [1, 2], [2, 3, 7, 8], [0, 4], [3, 4, 5, 7, 11], [6], [7], [8], [7, 8, 9], [5, 7, 8], [11]]
    ):
        pattern[i, cols] = True
    if kind == "cycles":
        pattern[0, 5] = pattern[7, 10] = True  # mood feeds glutamate, volume feeds trophic: loops
    elif kind == "dense":
        pattern[:] = True
    plan = Plan.of(pattern)
    assert (plan.fill > 0) == (kind == "cycles")  # loops fill in; the model's order needs none; dense is full
    jac = _random_jacobian(rng, pattern)
    v = rng.normal(size=(12, jac.shape[0]))
    c = fast_engine.GAMMA * 2.7
    entries = [jac[:, i, j] for i, j in plan.entries]
    # the engine reads the entries off one directional derivative per colour group (exact: no two columns of a
    # group share a row)
    compressed = np.einsum("bij,gj->gib", jac, plan.seeds())
    np.testing.assert_array_equal(plan.entries_of(compressed), np.stack(entries))
    assert plan.seeds().shape[0] == {"model": 5, "cycles": 5, "dense": 12}[kind]
    got = np.asarray(plan.solve(plan.factor(entries, c), v))
    want = np.stack([np.linalg.solve(np.eye(12) - c * jac[b], v[:, b]) for b in range(jac.shape[0])], axis=1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.max(np.abs(want)))
    # J v (the save's derivative at a step's end: engine.fast.pd_step) against the dense product; a sum of at most
    # 12 terms, rounding only
    np.testing.assert_allclose(
        np.asarray(plan.matvec(entries, v)),
        np.einsum("bij,jb->ib", jac, v),
        rtol=0,
        atol=1e-13 * np.max(np.abs(v)) * np.max(np.abs(jac)) * 12,
    )


@pytest.mark.slow  # compiles the fast engine with a probe
def test_jacobian_pattern_holds_along_trajectories(model, monkeypatch):
    """The engine's LU plan stores the non-PK Jacobian's non-zeros as seen at its probe points; an entry
    outside them would be dropped from ``W`` (a valid W-method, but not the Jacobian). Oracle: ``jax.jacfwd``
    of the model's vector field at the reference engine's states, every 6 h over 3 weeks of ketamine
    infusions, daily escitalopram and weekly CBT, for typical and extreme patients: no non-zero outside the plan
    (and none in it that the trajectories do not show, but for the diagonal, which the plan always keeps)."""
    import jax

    plans = []
    call = fast_engine.kernels.call

    def spy(name, fn, dynamic, static=(), options=None):
        if name == "fast_batch":
            plans.append(fast_engine.Plan(*static[4]))
        return call(name, fn, dynamic, static, options)

    monkeypatch.setattr(fast_engine.kernels, "call", spy)
    regimen = npl.build_regimen(
        [
            {
                "drug": "ketamine",
                "route": "iv",
                "amount": "0.5 mg/kg",
                "duration": "40 min",
                "at": ["0 d", "2 d", "9 d"],
            },
            {"drug": "escitalopram", "route": "oral", "amount": "10 mg", "start": "0 d", "every": "1 d", "count": 21},
        ],
        therapy=[{"kind": "cbt", "start": "1 d", "every": "7 d", "count": 3}],
    )
    cohort = _cohort(model, 3)
    # every 6 h, and inside the infusions and the therapy sessions (learning reads the plasticity window then)
    saveat = np.sort(
        np.concatenate(
            [[0.0, 0.25, 0.5, 2 / 3, 1.0], np.arange(2.0, 21 * 24 + 1, 6.0), 24.4 + 24 * np.arange(0, 21, 7)]
        )
    )
    npl.simulate(model, regimen, cohort, saveat=saveat, engine=FAST)
    ref = npl.simulate(model, regimen, cohort, saveat=saveat, engine=npl.engine.Tsit5(batch=8))
    plan = plans[0]
    pd = np.setdiff1d(np.arange(ref.states.shape[-1]), fast_engine.pk_indices(ref.states.shape[-1]))
    allowed = np.zeros((pd.size, pd.size), bool)
    allowed[tuple(np.asarray(plan.entries).T)] = True
    ind = npl.Model.build(model.values, cohort)
    events = regimen.event_array(cohort.table["weight_kg"].to_numpy(), fast_engine._bucket(len(regimen.events), 8))
    seen = np.zeros_like(allowed)
    for p in range(len(cohort)):
        m = jax.tree_util.tree_map(lambda x, p=p: x[p], ind)
        jac = jax.vmap(jax.jacfwd(lambda t, y, m=m, p=p: m.vector_field(t, y, events[p]), argnums=1))(
            saveat, ref.states[p]
        )
        seen |= np.any(np.asarray(jac)[:, pd][:, :, pd] != 0.0, axis=0)
    assert not np.any(seen & ~allowed), np.argwhere(seen & ~allowed)
    # and the probes miss none either way: the plan is exactly what the trajectories show, with the diagonal
    np.testing.assert_array_equal(allowed, seen | np.eye(pd.size, dtype=bool))


def test_time_base(model):
    """Oracle: integer arithmetic. Every dose start and stop and every clinic-session end is a whole number of
    base steps (so a step never crosses one), the base is no longer than the first step at a discontinuity,
    and save times play no part (6-hourly saves do not shorten the base below the 40-minute infusion's). The base
    is the largest whole fraction of the gcd within the shortest step: 40 min / 480 = 5 s; a 9.375 s gcd
    (3 x 5^5 ms) gives 3.125 s, not the millisecond that halving an odd gcd falls to."""
    regimen = npl.build_regimen(
        [{"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d", "2 d"]}]
    )
    ind = npl.Model.build(model.values, npl.sample_cohort(model.values, model.cvs, "trd", 2, seed=1))
    settings = fast_engine.Fast()
    tb = fast_engine.plan(ind, regimen, np.arange(0.0, 7 * 24 + 1, 6.0), settings)
    assert tb.base_h <= settings.min_h and round(tb.base_h * 3600.0, 9) == 5.0
    for t in np.concatenate(fast_engine.regimen_marks(ind, regimen)):
        assert abs(t / tb.base_h - round(t / tb.base_h)) < 1e-9 and round(t / tb.base_h) in tb.marks_u
    assert tb.marks_u[-1] == tb.end_u == round(7 * 24 / tb.base_h)
    odd = fast_engine.plan(ind, regimen, np.array([0.0, 1.234, 5.678, 7 * 24.0]), settings)
    assert odd.base_h == tb.base_h  # saves off the base are interpolated, not stepped to
    g = 9.375 / 3600.0
    assert round(fast_engine.time_base([0.0, 64 * g], [0.0], [g], [], min_h=settings.min_h).base_h * 3600.0, 9) == 3.125


def test_error_control(model):
    """The step-size controller does its job: tighter tolerances, smaller errors and more steps (oracle: Tsit5 at
    rtol 1e-9, as above). One infusion, 3 days, saves at irregular times that no step lands on (cubic Hermite
    interpolation): at rtol 1e-4 the true MADRS is within 0.01 points and every state within 1e-3 of its peak;
    at rtol 1e-2 (looser than the default) the MADRS error is larger but within the 0.15 points of ``_compare``."""
    regimen = npl.build_regimen(
        [{"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}]
    )
    saveat = np.concatenate([[0.0], np.sort(np.random.default_rng(4).uniform(0.05, 72.0, 60)), [72.0]])
    cohort = _cohort(model, 3)
    ref = npl.simulate(model, regimen, cohort, saveat=saveat, engine=REF)
    errs, steps = [], []
    for rtol in (1e-2, 1e-4):
        stats = []
        sim = fast_engine.Fast(rtol=rtol, atol=rtol * 1e-3, batch=8).run(model, regimen, cohort, saveat, stats=stats)
        assert np.all(sim.ok)
        errs.append(float(np.max(np.abs(sim.readouts["madrs_true"] - ref.readouts["madrs_true"]))))
        steps.append(stats[0][0])
        peak = np.max(np.abs(ref.states), axis=(0, 1)) + 1e-12
        state_err = float(np.max(np.abs(sim.states - ref.states) / peak))
    assert steps[1] > steps[0] and errs[1] < errs[0], (steps, errs)
    assert errs[0] <= 0.15 and errs[1] <= 0.01 and state_err <= 1e-3, (errs, state_err)


def test_read_rows():
    """Oracle: the model's declaration (``neuroplast.model.PK_READ``). The engine takes the derivative of the PK
    states the non-PK block reads only; a Jacobian showing a read the declaration leaves out is an error, not a
    silently wrong derivative."""
    import neuroplast.model as model_module

    n = len(model_module.STATE_NAMES)
    pk = fast_engine.pk_indices(n)
    pd = np.setdiff1d(np.arange(n), pk)
    live = np.arange(17)  # the ketamine family
    jac = np.zeros((2, n, n))
    s_effect = model_module.STATE_NAMES.index("s_effect")
    jac[0, pd[0], s_effect] = 1.0
    reads = fast_engine.read_rows(jac, pk, pd, live)
    assert [model_module.STATE_NAMES[pk[live][i]] for i in reads] == [
        "s_effect",
        "r_effect",
        "snk_effect",
        "rnk_effect",
        "hnk_effect",
    ]
    jac[1, pd[2], model_module.STATE_NAMES.index("s_central")] = 0.5
    with pytest.raises(RuntimeError, match="PK_READ"):
        fast_engine.read_rows(jac, pk, pd, live)


def test_pk_groups(model):
    """The PK propagation skips the exponentials' structural zeros (:func:`fast.pk_groups`). Oracles: the model's
    PK structure (the S- and R-enantiomer families, midazolam and each oral antidepressant do not feed each other, ODV is fed by venlafaxine; the eliminated
    amounts read everyone and no one reads them), and the propagators themselves — ``E = exp(h A)`` is exactly
    zero outside the groups for every step class (no path in ``A``'s graph: nothing is ever added there), so
    leaving those terms out changes no state beyond rounding. An ``A`` with an entry outside the groups is
    detected (the engine flags such a patient ``solver_failed``); a dense ``A`` is one group."""
    import jax
    import jax.numpy as jnp

    import neuroplast.model as model_module
    from neuroplast.engine.linear import propagators
    from neuroplast.model import Model

    names = model_module.STATE_NAMES
    pk = fast_engine.pk_indices(len(names))
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 1, seed=3)
    m = jax.tree_util.tree_map(lambda x: x[0], Model.build(model.values, cohort))
    reg = npl.build_regimen(
        [{"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}]
    )
    ev = jnp.asarray(reg.event_array(cohort.table["weight_kg"].to_numpy(), 8))[0]
    a = np.asarray(jax.jacfwd(lambda y: m.vector_field(0.1, y, ev))(m.initial_state()))[np.ix_(pk, pk)]
    groups = fast_engine.pk_groups(np.abs(a))
    by_name = [([names[pk[i]] for i in rows], len(cols)) for rows, cols in groups]
    assert by_name == [
        (["s_central", "s_shallow", "s_deep", "snk_central", "snk_peripheral"], 5),
        (["r_central", "r_shallow", "r_deep", "rnk_central", "rnk_peripheral", "hnk_central"], 6),
        (["mdz_central", "mdz_peripheral"], 2),
        (["escitalopram_central"], 1),
        (["sertraline_central"], 1),
        (["duloxetine_central"], 1),
        (["venlafaxine_central"], 1),
        (["eliminated"], 12),
        (["s_effect", "snk_effect"], 7),
        (["r_effect", "rnk_effect", "hnk_effect"], 9),
        (["mdz_effect", "mdz_eliminated"], 4),
        (["odv_central"], 2),  # a sink fed by venlafaxine
    ], by_name
    mask = fast_engine.covered(groups, pk.size)
    e, _ = propagators(jnp.asarray(a), jnp.arange(4), 5.0 / 3600.0, 16, 6)
    e = np.asarray(e)
    assert np.all(e[:, ~mask] == 0.0) and np.all(mask[np.abs(a) > 0.0])
    # the ketamine family alone, as the engine sees it: 114 products per step instead of 289
    ket = np.arange(17)
    g17 = fast_engine.pk_groups(np.abs(a[np.ix_(ket, ket)]))
    assert sum(len(r) * len(c) for r, c in g17) == 114
    # an entry outside the groups (S-ketamine feeding R-ketamine) is seen; a dense A is one group
    cross = np.abs(a[np.ix_(ket, ket)]).copy()
    cross[names.index("r_central") - pk[0], names.index("s_central") - pk[0]] = 1.0
    assert np.sum(cross * ~fast_engine.covered(g17, 17)) > 0.0
    assert fast_engine.pk_groups(np.ones((4, 4))) == (((0, 1, 2, 3), (0, 1, 2, 3)),)


FLOAT32_SCRIPT = """
import sys
import jax
import numpy as np
import neuroplast as npl

# float32: JAX's default (configure() is not called)
model = npl.default_model()
reg = npl.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d", "2 d"]}])
cohort = npl.sample_cohort(model.values, model.cvs, "trd", 64, seed=2)
sim = npl.simulate(model, reg, cohort, saveat=np.arange(0.0, 73.0, 6.0), engine=npl.engine.Fast())
assert sim.states.dtype == np.float32, sim.states.dtype
np.savez(sys.argv[1], status=sim.status, madrs=sim.readouts["madrs_true"])
"""


@pytest.mark.slow  # a child process compiles the engine in float32 (~15-30 s)
def test_float32_keeps_every_patient(model, tmp_path):
    """The fast engine in float32 (what a GPU runs): no patient flagged, and the true MADRS within 0.15 points of
    the same engine in float64 (oracle; the tolerance is the engine's own tested accuracy — float32 rounding
    changes the step sequence, not the method). Regression: XLA's CPU compiler mis-summed the guard against
    dose input on unexpected PK rows (an elementwise product reduced over its middle axis) in float32 only,
    which flagged a third of the patients ``solver_failed``; it is an ``einsum`` now."""
    script = tmp_path / "f32.py"
    script.write_text(FLOAT32_SCRIPT)
    subprocess.run([sys.executable, str(script), str(tmp_path / "out.npz")], check=True, timeout=600)
    out = np.load(tmp_path / "out.npz")
    assert np.all(out["status"] == 0), np.bincount(out["status"])
    reg = npl.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d", "2 d"]}])
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 64, seed=2)
    ref = npl.simulate(model, reg, cohort, saveat=np.arange(0.0, 73.0, 6.0), engine=FAST)
    assert np.max(np.abs(out["madrs"] - ref.readouts["madrs_true"])) <= 0.15


def test_horizon_beyond_32bit_step_count_is_a_clear_input_error(model):
    """In float32 mode (32-bit integers) the engine counts time in units of its time base; a dose 1 ms off the
    hour makes that unit 1 ms, and a week is then more than a quarter of 2**31 units. Oracle: the error is a
    NeuroplastInputError (one line: field, value, what to do), raised before any solve."""
    import jax

    reg = npl.build_regimen(
        [{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 h", "3600.001 s"]}]
    )
    cohort = _cohort(model, 2)
    saveat = np.arange(0.0, 7 * 24 + 1, 24.0)
    with jax.enable_x64(False):
        with pytest.raises(npl.NeuroplastInputError) as err:
            npl.simulate(model, reg, cohort, saveat=saveat, engine=FAST)
    msg = str(err.value)
    assert "field 'saveat'" in msg and "168 h" in msg and "jax_enable_x64" in msg and "\n" not in msg


def test_reachable_follows_the_feeding_graph():
    """Oracle: a hand-drawn graph (0 -> 1 -> 2, 3 -> 4): the states the dosed rows or a non-zero start reach,
    and nothing upstream of them."""
    a = np.zeros((5, 5))
    a[1, 0] = a[2, 1] = a[4, 3] = 0.5  # a[i, j] > 0: state j feeds state i
    none = np.zeros(5)
    assert fast_engine._reachable(a, np.array([0]), none).tolist() == [0, 1, 2]
    assert fast_engine._reachable(a, np.array([2]), none).tolist() == [2]
    assert fast_engine._reachable(a, np.array([0]), np.array([0.0, 0.0, 0.0, 1.0, 0.0])).tolist() == [0, 1, 2, 3, 4]


def test_batch_size_is_the_callers_or_the_engines_own(model, monkeypatch):
    """``Engine.batch_size``: an explicit ``batch`` is honoured by every engine (a GPU run asks for tens of
    thousands of patients per batch; it was once cut to the CPU's 64 without a word); otherwise the engine's own:
    256 for Tsit5, 64 for the fast engine on the CPU and ``device_batch`` on other backends; never more than the
    cohort rounded up to 8. Oracle for the engine: the number of batches it solved (``stats``, one entry each)."""
    assert npl.engine.Tsit5().batch_size(10_000) == 256
    assert npl.engine.Fast().batch_size(10_000) == fast_engine.Fast().cpu_batch == 64
    assert npl.engine.Fast(batch=32_768).batch_size(1_000_000) == 32_768
    assert npl.engine.Fast(batch=32_768).batch_size(1_000) == 1_000
    assert npl.engine.Tsit5(batch=100).batch_size(3) == 8
    monkeypatch.setattr(fast_engine.jax, "default_backend", lambda: "gpu")
    assert npl.engine.Fast().batch_size(10**6) == fast_engine.Fast().device_batch == 32_768
    assert npl.engine.Tsit5().batch_size(10**6) == 256
    monkeypatch.undo()

    regimen = npl.build_regimen(
        [{"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 h"]}]
    )
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 16, seed=5)
    saveat = np.arange(0.0, 25.0, 6.0)
    counts = {}
    for label, engine in (
        ("caller's", npl.engine.Fast(batch=16, cpu_batch=8)),
        ("engine's", npl.engine.Fast(cpu_batch=8)),
    ):
        stats = []
        sim = engine.run(model, regimen, cohort, saveat, stats=stats)
        assert np.all(sim.ok)
        counts[label] = len(stats)
    assert counts == {"caller's": 1, "engine's": 2}, counts  # 16 patients in one batch of 16, or two of 8


@pytest.mark.slow  # compiles the fast engine a second time, with XLA's default (slower to compile) emitters (~10 s)
def test_the_path_a_gpu_takes_runs_on_the_cpu(model, monkeypatch, tmp_path):
    """On a backend other than the CPU the engine's kernels get no XLA options (``compile_options`` gives ``{}``:
    its options were measured on the CPU) and the fast engine's default batch is ``device_batch``. That path once
    failed (a kernel that is not itself jitted was run op by op). Here the CPU is told it is a GPU. Oracle: the same
    cohort through the CPU's own path; tolerance 1e-9 MADRS points (only the XLA options differ, which change the
    rounding: ~1e-14 measured), also through the kernel store."""
    from neuroplast.engine import kernels as _kernels

    regimen = npl.build_regimen(
        [{"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d", "2 d"]}]
    )
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 8, seed=6)
    saveat = np.arange(0.0, 72.0 + 1e-9, 6.0)
    cpu = npl.simulate(model, regimen, cohort, saveat=saveat, engine=FAST)
    monkeypatch.setattr(_kernels.jax, "default_backend", lambda: "gpu")
    assert _kernels.compile_options(wide=True, quick=True) == {}
    runs, before = [], _kernels.jax.config.jax_compilation_cache_dir  # (an earlier test may have set a folder)
    try:
        for folder in (None, str(tmp_path)):  # without a kernel store, then with one
            _kernels.jax.config.update("jax_compilation_cache_dir", folder)
            runs.append(npl.simulate(model, regimen, cohort, saveat=saveat, engine=npl.engine.Fast()))
    finally:
        _kernels.jax.config.update("jax_compilation_cache_dir", before)
    assert len(list((tmp_path / "neuroplast-kernels").glob("fast_batch-*.bin"))) == 1  # stored and called
    for sim in runs:
        assert np.all(sim.ok)
        np.testing.assert_allclose(sim.readouts["madrs_true"], cpu.readouts["madrs_true"], rtol=0, atol=1e-9)
