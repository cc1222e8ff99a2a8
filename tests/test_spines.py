"""Spine density's ceiling: drug-driven formation rebuilds lost spines (E08), so repeated drive saturates."""

import numpy as np
import pytest
import scipy.optimize
from scipy.integrate import solve_ivp

from neuroplast.scales.plasticity import Spines

STRESS, R, GAIN, LIFETIME = 0.25, 1.2, 2.0, 200.0


def spines(**kw):
    leaf = lambda x: np.array([x])  # noqa: E731
    values = dict(lifetime_h=LIFETIME, gain=GAIN, potentiation_gain=0.0, tau_potentiation=1.0, stress=STRESS,
                  responsiveness=R, ssri_gain=0.1, fitness_gain=0.2, stress_coupling=0.0) | kw  # fmt: skip
    return Spines(**{k: leaf(v) for k, v in values.items()})


def d_spines(model, s, mtor, relief=0.0):
    return float(np.asarray(model.rhs(np.array([[s], [0.0]]), 0.0, mtor, relief=relief))[0, 0])


@pytest.mark.parametrize("mtor", [0.0, 0.1, 1.0, 10.0])
def test_steady_density_under_constant_drive_closed_form(mtor):
    # oracle: the root of k (1 + a (1 - s) / c - (1 + sigma) s) = 0 with a = r g mTOR and c = 1 - s* = sigma / (1 +
    # sigma), by hand: s = (1 + a / c) / (1 + sigma + a / c); brentq finds the root of the model's rhs to 1e-12
    m = spines()
    a, c = R * GAIN * mtor, STRESS / (1 + STRESS)
    root = scipy.optimize.brentq(lambda s: d_spines(m, s, mtor), 0.5, 1.0, xtol=1e-12)
    assert root == pytest.approx((1 + a / c) / (1 + STRESS + a / c), abs=1e-9)
    if mtor == 0.0:
        assert root == pytest.approx(1 / (1 + STRESS), abs=1e-9)  # the depressed baseline s*


@pytest.mark.parametrize("mtor", [0.5, 5.0, 500.0])
def test_no_drive_raises_density_past_the_healthy_level(mtor):
    # oracle: at s = 1 no site is vacant, so ds/dt = k (1 - (1 + sigma)) < 0 whatever the drive
    assert d_spines(spines(), 1.0, mtor) == pytest.approx(-STRESS / LIFETIME, rel=1e-12)


def test_repeated_pulses_saturate_below_the_healthy_density():
    # oracle: scipy's solver (rtol 1e-10) on the model's rhs and on the same rhs without the vacant share (formation
    # linear in the drive, by hand): ten identical mTORC1 pulses every 48 h carry the linear model past the healthy
    # density; with the vacant share each pulse adds less than the one before and density stays below it
    m = spines(lifetime_h=100.0)
    k, s0 = 1 / 100.0, 1 / (1 + STRESS)
    drive = lambda t: 2.0 if (t % 48.0) < 4.0 else 0.0  # noqa: E731

    def run(f):
        ends = 48.0 * np.arange(10) + 4.0
        return solve_ivp(f, (0.0, 480.0), [s0], t_eval=ends, rtol=1e-10, atol=1e-12, max_step=0.5).y[0]

    peaks = run(lambda t, y: [d_spines(m, y[0], drive(t))])
    linear = run(lambda t, y: [k * (1 + R * GAIN * drive(t) - (1 + STRESS) * y[0])])
    gains = np.diff(np.concatenate([[s0], peaks]))
    assert linear.max() > 1.0
    assert np.all(gains > 0) and np.all(np.diff(gains) < 0)
    assert peaks.max() < 1.0


@pytest.mark.parametrize(("coupling", "relief"), [(0.0, 0.5), (0.4, 0.0), (0.4, 0.5), (1.0, 1.0), (0.4, 1.7)])
def test_felt_relief_lifts_the_stress_load_closed_form(coupling, relief):
    # oracle: without drive formation is 1 and elimination is (1 + sigma (1 - c rho)) s, so the steady density is
    # 1 / (1 + sigma (1 - c rho)), by hand; relief is a share (clipped to 1); no relief leaves the depressed
    # baseline 1 / (1 + sigma) whatever the coupling. brentq finds the root of the model's rhs to 1e-12
    m = spines(stress_coupling=coupling)
    root = scipy.optimize.brentq(lambda s: d_spines(m, s, 0.0, relief), 0.5, 1.0, xtol=1e-12)
    assert root == pytest.approx(1 / (1 + STRESS * (1 - coupling * min(relief, 1.0))), abs=1e-9)


def test_relief_only_adds_spines_in_the_full_model(model):
    # oracle: a comparison argument -- relief is never negative, so the coupling can only lower elimination: after one
    # 0.5 mg/kg infusion the density with the committed coupling is at least the density without it at every saved
    # time (to the solver's tolerance, 1e-6 relative), both start at the depressed baseline, and by day 7 the one
    # with the coupling is higher (relief that lasts days regrows spines: the consolidation of model.md section 4)
    import neuroplast as npl

    reg = npl.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 min"]}])
    ts = np.arange(0.0, 7 * 24.0 + 1e-9, 6.0)
    cohort = npl.typical_patient(model.values, population="trd")
    assert model.values["stress_relief_coupling"] > 0.0
    on, off = (
        np.asarray(npl.simulate(m, reg, cohort, saveat=ts).readouts["spine_density"][0])
        for m in (model, model.with_values(stress_relief_coupling=0.0))
    )
    assert on[0] == pytest.approx(off[0], rel=1e-12)
    assert np.all(on >= off * (1 - 1e-6))
    assert on[-1] > off[-1] + 1e-4
