"""PK oracles: closed form vs SciPy, mass balance, back-to-back infusions, the published peak."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import neuroplast as npl
from neuroplast.cohort import individualize
from neuroplast.scales.pk import closed_form_linear

from .conftest import one_patient, pk_of

UMOL_PER_MG = 1000.0 / 237.73


def _system(model, **kw):
    ind = individualize(model.values, one_patient(model, **kw))
    return pk_of(ind).system()


def test_closed_form_matches_scipy_reference(model):
    """Oracle: SciPy LSODA at rtol 1e-11 on the same linear system. Tolerance 1e-7 relative:
    both are converged far below it (LSODA's global error at these settings is ~1e-9)."""
    a, b = _system(model)
    rate = 35 * UMOL_PER_MG / (40 / 60)
    ts = np.array([0.1, 0.5, 40 / 60, 1.0, 3.0, 12.0, 48.0])
    exact = closed_form_linear(a, b, [(0.0, 40 / 60, rate)], ts)

    def f(t, x):
        return a @ x + b * (rate if t < 40 / 60 else 0.0)

    x = np.zeros(a.shape[0])
    ref, t0 = [], 0.0
    for t in ts:  # integrate piecewise, restarting at the end of the infusion (a jump in the input)
        for seg_end in ([40 / 60] if t0 < 40 / 60 < t else []) + [t]:
            sol = solve_ivp(f, (t0, seg_end), x, method="LSODA", rtol=1e-11, atol=1e-13)
            x, t0 = sol.y[:, -1], seg_end
        ref.append(x)
    ref = np.array(ref)
    scale = np.abs(exact).max(axis=0) + 1e-12
    assert np.max(np.abs(exact - ref) / scale) < 1e-7


def test_integrated_model_matches_closed_form(model, single_infusion):
    """The diffrax-integrated PK states equal the closed form (oracle) to the solver tolerance (rtol 1e-9)."""
    cohort = one_patient(model, weight_kg=82.0)
    ts = np.array([0.0, 0.2, 40 / 60, 1.0, 2.0, 6.0, 24.0])
    sim = npl.simulate(model, single_infusion, cohort, saveat=ts, solver=npl.Solver(rtol=1e-10, atol=1e-12))
    a, b = _system(model, weight_kg=82.0)
    rate = 0.5 * 82.0 * UMOL_PER_MG / (40 / 60)
    exact = closed_form_linear(a, b, [(0.0, 40 / 60, rate)], ts)
    got = sim.states[0, :, :9]
    scale = np.abs(exact).max(axis=0) + 1e-12
    assert np.max(np.abs(got - exact) / scale) < 1e-6


def test_mass_balance(model, single_infusion):
    """Conservation: every umol infused is in a compartment, became norketamine, or was eliminated."""
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 16, seed=3)
    ts = np.array([0.3, 40 / 60, 2.0, 24.0, 96.0])
    sim = npl.simulate(model, single_infusion, cohort, saveat=ts, solver=npl.Solver(rtol=1e-9, atol=1e-12))
    dose = 0.5 * cohort.table["weight_kg"].to_numpy() * UMOL_PER_MG
    infused = dose[:, None] * np.minimum(ts / (40 / 60), 1.0)[None, :]
    x = sim.states
    total = x[..., 0:5].sum(-1) + x[..., 7] + x[..., 8]
    np.testing.assert_allclose(total, infused, rtol=1e-7)


def test_two_back_to_back_infusions_equal_one_long(model):
    """Pharmacology invariant: 20 + 20 min at the same rate is one 40-min infusion (closed form, exact)."""
    a, b = _system(model)
    ts = np.linspace(0.0, 6.0, 13)
    one = closed_form_linear(a, b, [(0.0, 2 / 3, 10.0)], ts)
    two = closed_form_linear(a, b, [(0.0, 1 / 3, 10.0), (1 / 3, 2 / 3, 10.0)], ts)
    np.testing.assert_allclose(two, one, rtol=1e-12, atol=1e-12)


def test_published_peak_concentration(model, single_infusion):
    """0.5 mg/kg over 40 min peaks near the published 185 ng/mL (A34) in a 70 kg patient.
    The calibration anchors this value; 2% covers the 1-min save grid around the peak."""
    ts = np.linspace(0.0, 2.0, 121)
    sim = npl.simulate(model, single_infusion, one_patient(model), saveat=ts)
    assert sim.readouts["ketamine_plasma"].max() == pytest.approx(185.0, rel=0.02)
    assert ts[np.argmax(sim.readouts["ketamine_plasma"][0])] == pytest.approx(40 / 60, abs=1 / 60)


def test_allometric_scaling(model):
    """A heavier patient on a mg/kg dose has a similar peak (volumes scale with weight, W/70)."""
    reg = npl.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 h"]}])
    ts = np.linspace(0, 2, 121)
    light = npl.simulate(model, reg, one_patient(model, weight_kg=55.0), saveat=ts).readouts["ketamine_plasma"].max()
    heavy = npl.simulate(model, reg, one_patient(model, weight_kg=110.0), saveat=ts).readouts["ketamine_plasma"].max()
    assert heavy == pytest.approx(light, rel=0.15)  # clearance scales as W^0.75, so not exactly equal


def test_steady_state_under_constant_infusion(model):
    """Oracle independent of the distribution terms: at steady state Css = R/CL for ketamine and
    f_nk R / CL_nk for norketamine, and effect sites equal plasma."""
    ind = individualize(model.values, one_patient(model))
    pk = pk_of(ind)
    a, b = pk.system()
    rate = 50.0  # umol/h
    amounts = a[:7, :7]  # the cumulative-eliminated states (7, 8) do not feed back
    x = np.linalg.solve(amounts, -b[:7] * rate)
    assert x[0] / float(pk.v1) == pytest.approx(rate / float(pk.cl), rel=1e-10)
    assert x[3] / float(pk.v1_nk) == pytest.approx(float(pk.f_nk) * rate / float(pk.cl_nk), rel=1e-10)
    assert x[5] == pytest.approx(x[0] / float(pk.v1), rel=1e-10)


def test_distribution_half_life_is_published(model):
    """Not fitted: the fastest disposition half-life of ketamine lies in the published 10-15 min (A43)."""
    pk = pk_of(individualize(model.values, one_patient(model)))
    a, _ = pk.system()
    rates = -np.linalg.eigvals(a[:3, :3]).real  # ketamine's own three compartments
    assert 10.0 <= np.log(2) / rates.max() * 60 <= 15.0
