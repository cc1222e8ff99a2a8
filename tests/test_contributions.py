"""Where relief comes from (``summary.json`` → ``contributions``): the split of the change into its routes.

Oracles: closed forms of the mood filter (a linear ODE) and of the Shapley value of a product; the Shapley value
rebuilt from independent simulations with one route switched off by its parameters; the sum rule; and the
structural zeros (no drug, no plasticity; no session, no learning).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.instruments import INSTRUMENTS
from neuroplast.model import Model
from neuroplast.report.contributions import contributions_figure
from neuroplast.trials import TrialSummary, load_spec, run_trial
from neuroplast.trials import contributions as C
from tests.golden.regenerate import ROOT

KETAMINE = ROOT / "examples" / "ketamine_vs_midazolam.toml"
CBT = ROOT / "examples" / "cbt_vs_waitlist.toml"
SSRI = ROOT / "examples" / "ssri_vs_placebo.toml"


def test_filter_is_exact_for_inputs_linear_between_saves_and_superposes():
    """Oracle: dx/dt = (u - x)/tau from x(0) = 0 in closed form, for a ramp u = a t (exact: the filter's
    first-order hold is exact for inputs linear between saves, so to round-off, 1e-12) and a saturating
    u = b (1 - exp(-t/sigma)), for which holding it linear between saves errs by at most
    max|u''| dt^2 / 8 = b dt^2 / (8 sigma^2) (the interpolation error, which the stable filter does not amplify).
    Superposition: the filter of the sum is the sum of the filters (linearity, to round-off)."""
    tau, sigma, a, b = 2.0, 30.0, -0.01, -0.4
    t = np.concatenate([np.arange(0.0, 4.0, 5.0 / 60.0), np.arange(4.0, 48.0, 1.0), np.arange(48.0, 400.0, 6.0)])
    ramp = a * (t - tau * (1.0 - np.exp(-t / tau)))
    sat = b * (1.0 - (sigma * np.exp(-t / sigma) - tau * np.exp(-t / tau)) / (sigma - tau))
    u1, u2 = (a * t)[None, :], (b * (1.0 - np.exp(-t / sigma)))[None, :]
    taus = np.array([tau])
    x1, x2, x12 = C.filter_linear(u1, t, taus), C.filter_linear(u2, t, taus), C.filter_linear(u1 + u2, t, taus)
    assert np.max(np.abs(x1[0] - ramp)) < 1e-12
    assert np.max(np.abs(x2[0] - sat)) <= abs(b) * 6.0**2 / (8.0 * sigma**2)
    assert np.max(np.abs(x12 - (x1 + x2))) < 1e-14


def test_shapley_of_a_product():
    """Oracle: for two factors the Shapley value is (f1 - 1)(1 + f2)/2 (half the interaction each); for any
    number the values sum to prod f - 1 (efficiency), a factor equal to 1 gets 0 (null player), and equal factors
    get equal values (symmetry). To round-off (1e-14)."""
    rng = np.random.default_rng(0)
    f = [rng.uniform(0.2, 1.2, (3, 5)) for _ in range(4)]
    phi = C.shapley_product(f)
    assert np.max(np.abs(np.sum(phi, axis=0) - (np.prod(f, axis=0) - 1.0))) < 1e-14
    two = C.shapley_product(f[:2])
    assert np.max(np.abs(two[0] - (f[0] - 1.0) * (1.0 + f[1]) / 2.0)) < 1e-14
    null = C.shapley_product([f[0], np.ones((3, 5)), f[0]])
    assert np.max(np.abs(null[1])) == 0.0
    assert np.max(np.abs(null[0] - null[2])) < 1e-14


def _noise_free(model, only_arm="ketamine", n=6):
    """Per patient and saved time, the noise-free contributions (MADRS points) of the example's ketamine arm."""
    res = run_trial(load_spec(KETAMINE), model=model, n_per_arm=n, only_arms=[only_arm])
    sim = res.arms[only_arm].simulation
    true = np.asarray(INSTRUMENTS["MADRS"].true(sim.readouts, sim.cohort.table, model.values))
    parts = C.per_patient(sim, model, "MADRS", true)
    assert parts is not None and sim.ok.all()
    return res, parts, true - true[:, :1]


def test_shapley_from_simulations_with_a_route_switched_off(model):
    """Oracle: the two-route Shapley value rebuilt from independent simulations. In the ketamine arm of a
    treatment-resistant cohort only plasticity and expectancy act (no natural course, no session, no SSRI), so
    with v(S) the true change with the routes S on, plasticity's share is [v(P) + v(P, E) - v(E)] / 2.
    v(E): ``spine_gain`` and ``potentiation_gain`` 0 (the drug still dissociates, so expectancy is as in the full
    run); v(P): ``expectancy_base`` and ``expectancy_felt`` 0. Tolerance 1e-3 points: the three solves take their
    own steps (rtol 1e-5 on states of order 1, a 30-point scale: about 3e-4 points; 7e-6 seen), and the grid residual, shared
    by magnitude, is all plasticity's here (the only mood route), so the split itself is exact.
    Run with ``stress_relief_coupling`` 0: with it on, relief from expectancy lowers the stress load and so regrows
    spines, and switching expectancy off changes the spines too. The split still credits those spines to
    plasticity (it reads the states), which a switched-off simulation does not; that is a definition, not an error."""
    model = model.with_values(stress_relief_coupling=0.0)
    _, full, d_full = _noise_free(model)
    _, _, d_exp = _noise_free(model.with_values(spine_gain=0.0, potentiation_gain=0.0))
    _, no_exp, d_pl = _noise_free(model.with_values(expectancy_base=0.0, expectancy_felt=0.0))
    oracle_pl = 0.5 * (d_pl + d_full - d_exp)
    oracle_exp = 0.5 * (d_exp + d_full - d_pl)
    assert np.max(np.abs(full["plasticity"] - oracle_pl)) < 1e-3
    assert np.max(np.abs(full["expectancy"] - oracle_exp)) < 1e-3
    assert np.max(np.abs(no_exp["expectancy"])) < 1e-12  # switched off: nothing
    assert np.max(np.abs(no_exp["plasticity"] - d_pl)) < 1e-9  # the only route left carries the whole change
    for key in ("learning", "natural_course", "ssri_direct"):
        assert np.max(np.abs(full[key])) < 1e-9
    assert np.max(np.abs(full["rating"])) < 1e-9  # scored without rater noise: the routes are the whole change


def test_sum_rule_and_grid_residual(model):
    """The sum rule: at every visit of every arm the keys sum to ``mean_change`` to round-off (1e-9), not merely
    within 0.1 point: the split is exact in sum by construction, because the only two inexact pieces are
    accounted for — what the rater adds (noise SD 1.6 MADRS points, rounding, the scale's floor: its mean over
    n patients wanders by about 1.6 sqrt(2/n), 0.4 points at 32 per arm) is its own key, ``rating``, and the save
    grid's residual is shared among the mood routes. That residual is the part of the split that rests on the
    sharing rule rather than on superposition; it stays below 0.1 point per patient at every visit.
    Midazolam blocks no NMDA receptor, so its plasticity is relief that lowered the stress load (never a loss: relief
    is not negative) and exactly 0 with the stress coupling off (a structural zero)."""
    res = run_trial(load_spec(KETAMINE), model=model, n_per_arm=8)
    for name, arm in res.summary.arms.items():
        for tp in arm.timepoints:
            assert tp.contributions is not None and set(tp.contributions) == set(C.KEYS)
            assert math.isclose(sum(tp.contributions.values()), tp.mean_change, abs_tol=1e-9)
        sim = res.arms[name].simulation
        _, residual = C.mood_parts(Model.build(model, sim.cohort, host=True), sim.readouts, sim.times_h)
        base = np.asarray(sim.readouts["madrs_true"])[:, :1]
        idx = [int(np.searchsorted(sim.times_h, tp.time_h)) for tp in arm.timepoints]
        assert np.max(np.abs(base * residual[:, idx])) < 0.1
    ket, mdz = res.summary.arms["ketamine"].at("1 d"), res.summary.arms["midazolam"].at("1 d")
    assert ket.contributions["plasticity"] < 0.0  # the drug's new spines: relief (a negative change)
    assert mdz.contributions["plasticity"] <= 0.0
    off = run_trial(load_spec(KETAMINE), model=model.with_values(stress_relief_coupling=0.0), n_per_arm=8)
    assert all(tp.contributions["plasticity"] == 0.0 for tp in off.summary.arms["midazolam"].timepoints)


@pytest.mark.slow
def test_wait_list_and_therapy(model):
    """Structural zeros: on a wait list nothing moves spines (plasticity exactly 0) and no session is held
    (learning 0 to the solver's tolerance: the learning state against its closed form without sessions); the
    natural course brings relief (negative change). A therapy-only arm gets relief from learning. On PHQ-9 (a
    nonlinear crosswalk from MADRS) the keys still sum to ``mean_change`` to round-off. With the stress coupling off:
    with it on, the natural course's relief regrows spines, and the wait list's plasticity is that relief."""
    res = run_trial(load_spec(CBT), model=model.with_values(stress_relief_coupling=0.0), n_per_arm=8)
    for arm in res.summary.arms.values():
        for tp in arm.timepoints:
            assert math.isclose(sum(tp.contributions.values()), tp.mean_change, abs_tol=1e-9)
    wait, cbt = res.summary.arms["wait list"], res.summary.arms["cbt"]
    for tp in wait.timepoints:
        assert tp.contributions["plasticity"] == 0.0
        assert abs(tp.contributions["learning"]) < 1e-3
        assert tp.contributions["natural_course"] < 0.0
        assert tp.contributions["ssri_direct"] == 0.0
    for tp in cbt.timepoints:
        assert tp.contributions["learning"] < 0.0


@pytest.mark.slow
def test_ssri_direct_route_only_where_a_sert_blocker_is_taken(model):
    """The direct serotonergic route acts only where a SERT blocker is taken and only when it is on: with
    ``ssri_mood_gain`` set (0.1), escitalopram's ``ssri_direct`` is relief (negative) and the placebo pill's exactly 0
    (no trophic state); in the committed model the route is off (``ssri_mood_gain`` = 0, an assumption), so it is
    exactly 0 in both arms (oracle: the factor ``1 - g T`` is 1 where g = 0 or T = 0). The placebo pill's plasticity
    is 0 with the stress coupling off (with it on, the pill's expectancy relief regrows spines)."""
    on = run_trial(
        load_spec(SSRI), model=model.with_values(ssri_mood_gain=0.1, stress_relief_coupling=0.0), n_per_arm=8
    )
    for tp in on.summary.arms["escitalopram"].timepoints:
        assert tp.contributions["ssri_direct"] < 0.0
    for tp in on.summary.arms["placebo"].timepoints:
        assert tp.contributions["ssri_direct"] == 0.0
        assert tp.contributions["plasticity"] == 0.0
    off = run_trial(load_spec(SSRI), model=model, n_per_arm=8)
    for arm in off.summary.arms.values():
        assert all(tp.contributions["ssri_direct"] == 0.0 for tp in arm.timepoints)


@pytest.mark.slow
def test_fast_engine_agrees(model):
    """The split is read from saved read-outs, so any engine gives it: the fast engine against Tsit5 (the trial's
    default engine) on the ketamine example, every key at every visit within 0.15 points — the bound
    ``tests/test_fast_engine.py`` holds the true MADRS to (a tenth of the rater noise's SD), here on arm means."""
    spec = load_spec(KETAMINE)
    ref = run_trial(spec, model=model, n_per_arm=8)
    fast = run_trial(spec, model=model, n_per_arm=8, engine=npl.engine.Fast())
    for name, arm in ref.summary.arms.items():
        for tp_ref, tp_fast in zip(arm.timepoints, fast.summary.arms[name].timepoints, strict=True):
            for key in C.ROUTES:
                assert abs(tp_fast.contributions[key] - tp_ref.contributions[key]) < 0.15, (name, tp_ref.time, key)


def test_report_draws_them():
    """The report's figure: a PNG for a trial with contributions (the golden ketamine summary), none for a
    condition's trial (the golden PTSD summary has no contributions)."""
    golden = ROOT / "tests" / "golden"
    read = lambda name: TrialSummary.model_validate(json.loads((golden / f"{name}.summary.json").read_text()))
    png = contributions_figure(read("ketamine_vs_midazolam"))
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert contributions_figure(read("ptsd_ketamine_vs_midazolam")) is None


def test_condition_scales_have_no_contributions():
    """A condition's scale reads its sub-circuit, not the depression mood state: no split is claimed."""
    assert C.applies("MADRS") and C.applies("PHQ9")
    assert not any(
        C.applies(s) for s, inst in INSTRUMENTS.items() if inst.populations != INSTRUMENTS["MADRS"].populations
    )
