"""The mood circuit (issue 5, item 1): depression's published directions, ketamine's reversal, the FC oracle.

Oracles: the published directions (ids of evidence/circuit_sources.yaml, each named in its assertion);
an independent solve of the Lyapunov equation (Kronecker-vectorised linear system) and a Monte-Carlo
simulation of the full nonlinear stochastic rate model; SciPy's ``fsolve`` for the fixed point.
"""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from scipy import optimize

import neuroplast as npl
from neuroplast._errors import NeuroplastInputError
from neuroplast.evidence import HERE, source_ids
from neuroplast.parameters import all_parameters
from neuroplast.scales.circuits import (
    PROJECTIONS,
    REGIONS,
    CircuitConstants,
    circuit_from_factors,
    healthy_circuit,
    mood_circuit,
    plasticity_factors,
    stationary_covariance,
    subcircuit_activity,
)
from neuroplast.scales.circuits.rate import _sigmoid, correlation, jacobian

from .cli_run import invoke

DAY = 24.0


@pytest.fixture(scope="module")
def treated():
    """The trd preset's typical patient: drug-free baseline at 0 h, then 0.5 mg/kg IV ketamine over 40 min."""
    model = npl.default_model()
    cohort = npl.typical_patient(model.values)
    regimen = npl.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}])
    return npl.simulate(model, regimen, cohort, saveat=np.array([0.0, 1.0 * DAY, 7.0 * DAY]))


@pytest.fixture(scope="module")
def states(treated):
    return mood_circuit(treated), healthy_circuit()


@pytest.fixture(scope="module")
def factor_state():
    """No solve needed: a stressed prefrontal/hippocampal state (0.8, 0.88, as the trd baseline) and health."""
    return circuit_from_factors(np.array([[0.8, 1.0]]), np.array([[0.88, 1.0]]))


def test_every_projection_names_verified_evidence_and_is_a_registry_parameter():
    ids = source_ids()
    circuit = {s["id"]: s for s in yaml.safe_load((HERE / "circuit_sources.yaml").read_text())["sources"]}
    registry = {p.name: p for p in all_parameters()}
    for p in PROJECTIONS:
        assert p.evidence, p.name
        for e in p.evidence:
            assert e in ids, f"{p.name}: unknown evidence id {e}"
            assert circuit.get(e, {"verified": True})["verified"], f"{p.name} relies on an unverified source {e}"
        assert registry[p.name].scale == "circuits" and registry[p.name].value == p.weight
        assert p.source in REGIONS and p.target in REGIONS
    # unverified circuit sources exist (read but not confirmed) and are used for nothing
    unverified = {k for k, s in circuit.items() if not s["verified"]}
    assert unverified and not unverified & {e for p in PROJECTIONS for e in p.evidence}


def test_healthy_network_rests_at_the_healthy_rate():
    # oracle: the drive is constructed so that r = healthy_rate solves r = f(W r + I) exactly
    h = healthy_circuit()
    rate = npl.default_model().values["circuit_healthy_rate"]
    assert np.allclose(h.activity, rate, atol=1e-12)


@pytest.mark.slow  # the fixture compiles and solves the full model (~30 s on 2 loaded cores)
def test_depression_shows_the_published_directions(states, treated):
    st, h = states
    base = 0  # the drug-free trd baseline (spines at 1/(1 + stress))
    assert treated.readouts["spine_density"][0, base] < 0.95  # the preset is stressed: fewer spines than healthy

    def act(region):
        return st.region(region)[0, base], h.region(region)[0, 0]

    sg, sg_h = act("sgacc")
    assert sg > sg_h + 0.02, "sgACC over-activity in TRD (mayberg2005_sgacc_dbs, drevets2008_sgacc_review)"
    amy, amy_h = act("amygdala")
    assert amy > amy_h + 0.02, "amygdala response higher in MDD (hamilton2013_mdd_activation_meta)"
    dl, dl_h = act("dlpfc")
    assert dl < dl_h - 0.01, "dlPFC lower in MDD (hamilton2013_mdd_activation_meta, kaiser2015_rsfc_meta)"
    # weaker prefrontal control of the amygdala: smaller effective inhibition and weaker (less negative) coupling
    i_amy, i_vm = REGIONS.index("amygdala"), REGIONS.index("vmpfc")
    assert abs(st.coupling[0, base, i_amy, i_vm]) < abs(h.coupling[0, 0, i_amy, i_vm])
    for pfc in ("vmpfc", "dlpfc"):
        assert abs(st.fc_between(pfc, "amygdala")[0, base]) < abs(h.fc_between(pfc, "amygdala")[0, 0]) - 0.05, (
            f"{pfc}-amygdala coupling weaker in MDD (tang2013_amygdala_vpfc, wu2020_amygdala_pfc_adolescent)"
        )
    # weaker hippocampal-prefrontal coupling
    i_hpc = REGIONS.index("hippocampus")
    assert st.coupling[0, base, i_vm, i_hpc] < h.coupling[0, 0, i_vm, i_hpc]
    assert st.fc_between("hippocampus", "vmpfc")[0, base] < h.fc_between("hippocampus", "vmpfc")[0, 0] - 0.05, (
        "hippocampal-prefrontal coupling impaired in MDD (cao2012_hippocampus_rsfc)"
    )


def _measures(st, h, k):
    """Signed distances from health at time index k, each positive in depression."""
    return np.array(
        [
            st.region("sgacc")[0, k] - h.region("sgacc")[0, 0],
            st.region("amygdala")[0, k] - h.region("amygdala")[0, 0],
            abs(h.fc_between("vmpfc", "amygdala")[0, 0]) - abs(st.fc_between("vmpfc", "amygdala")[0, k]),
            h.fc_between("hippocampus", "vmpfc")[0, 0] - st.fc_between("hippocampus", "vmpfc")[0, k],
        ]
    )


@pytest.mark.slow
def test_ketamine_moves_the_circuit_back_at_1_day_and_partly_at_1_week(states):
    st, h = states
    base, day1, week1 = (_measures(st, h, k) for k in range(3))
    assert np.all(base > 0)
    # 1 day: every measure closer to health (spines restored by the mTORC1 pulse, E07/E08)
    assert np.all(day1 < base), (base, day1)
    # 1 week: still better than baseline, but less than at 1 day and not healthy (spines decay over ~2 weeks, E09)
    assert np.all(week1 < base) and np.all(week1 > day1) and np.all(week1 > 0), (base, day1, week1)


def test_fc_is_a_correlation_matrix(factor_state):
    fc = factor_state.fc
    assert np.allclose(fc, np.swapaxes(fc, -1, -2), atol=1e-12)
    assert np.allclose(np.diagonal(fc, axis1=-2, axis2=-1), 1.0, atol=1e-12)
    assert np.all(np.abs(fc) <= 1.0 + 1e-12)
    assert np.all(np.linalg.eigvalsh(fc) > -1e-10)  # positive semi-definite


def test_lyapunov_solution_matches_an_independent_linear_solve(factor_state):
    # oracle: (I kron A + A kron I) vec(S) = -vec(Q), solved directly (no Bartels-Stewart); float64 round-off only
    st = factor_state
    const = CircuitConstants.from_values()
    a = jacobian(st.coupling[0, 0], st.activity[0, 0], const.drive, const)
    n = a.shape[0]
    q = (const.noise / const.tau_s) ** 2 * np.eye(n)
    big = np.kron(np.eye(n), a) + np.kron(a, np.eye(n))
    s = np.linalg.solve(big, -q.reshape(-1)).reshape(n, n)
    assert np.allclose(stationary_covariance(a, const.noise, const.tau_s), s, rtol=1e-9, atol=1e-14)
    assert np.allclose(st.covariance[0, 0], s, rtol=1e-9, atol=1e-14)


def test_fc_matches_monte_carlo_of_the_nonlinear_stochastic_model():
    """Euler-Maruyama of tau dr = (-r + f(W r + I)) dt + sigma dB at small noise (so the linearisation holds).

    8000 samples (2000 chains x 4 times 8 tau apart, after a 10 tau burn-in): the standard error of a
    correlation is (1 - rho^2)/sqrt(8000) <= 0.011; tolerance 0.05 (about 4.5 SE) also covers the O(dt) bias
    of Euler-Maruyama (dt = 0.02 tau) and the O(sigma) nonlinearity (sigma = 0.005).
    """
    values = {**npl.default_model().values, "circuit_noise": 0.005}
    const = CircuitConstants.from_values(values)
    st = circuit_from_factors(np.array([[0.8]]), np.array([[0.9]]), values=values)
    w, r0, drive = st.coupling[0, 0], st.activity[0, 0], const.drive
    rng = np.random.default_rng(7)
    dt, chains = 0.02 * const.tau_s, 2000
    r = np.tile(r0, (chains, 1))
    samples = []
    for step in range(int(10 / 0.02) + 4 * int(8 / 0.02)):
        drift = (-r + _sigmoid(r @ w.T + drive, const.slope)) / const.tau_s
        r = r + drift * dt + (const.noise / const.tau_s) * np.sqrt(dt) * rng.standard_normal(r.shape)
        if step >= int(10 / 0.02) and (step - int(10 / 0.02)) % int(8 / 0.02) == 0:
            samples.append(r.copy())
    x = np.concatenate(samples)
    fc_mc = correlation(np.cov(x.T))
    assert np.max(np.abs(fc_mc - st.fc[0, 0])) < 0.05


def test_fixed_point_matches_scipy_fsolve_and_is_stable(factor_state):
    st = factor_state
    const = CircuitConstants.from_values()
    w = st.coupling[0, 0]
    ref = optimize.fsolve(
        lambda r: r - _sigmoid(w @ r + const.drive, const.slope), np.full(len(REGIONS), 0.5), xtol=1e-13
    )
    assert np.allclose(st.activity[0, 0], ref, atol=1e-10)
    assert np.max(np.linalg.eigvals(jacobian(w, ref, const.drive, const)).real) < 0


def test_fixed_point_is_found_and_stable_over_a_wide_range_of_plasticity():
    # far outside the cohort's range (prefrontal 0.3-1.8, hippocampal 0.3-1.5 of healthy): the relaxation +
    # Newton solver converges everywhere (it failed at (1.25, 0.8) before the relaxation step was added)
    cp, ch = np.meshgrid(np.linspace(0.3, 1.8, 16), np.linspace(0.3, 1.5, 13))
    st = circuit_from_factors(cp.reshape(1, -1), ch.reshape(1, -1))  # raises if any point is unstable
    const = CircuitConstants.from_values()
    res = st.activity - _sigmoid(np.einsum("...ij,...j->...i", st.coupling, st.activity) + const.drive, const.slope)
    assert np.max(np.abs(res)) < 1e-11 and np.all(np.isfinite(st.fc))


@pytest.mark.slow
def test_subcircuit_hooks_are_zero_in_health_and_one_at_baseline(treated):
    hooks = subcircuit_activity(treated)
    assert set(hooks) == {"fear", "reward", "compulsion"}
    for name, x in hooks.items():
        assert x.shape == (1, 3)
        assert x[0, 0] == pytest.approx(1.0, abs=1e-12), name  # the untreated baseline (first saved time)
    assert 0.0 < hooks["fear"][0, 1] < 1.0  # ketamine at 1 day: partway back to health
    as_dict = subcircuit_activity(treated.readouts)  # a bare read-out dict works the same
    assert all(np.allclose(as_dict[k], hooks[k], atol=1e-12) for k in hooks)
    healthy = SimpleNamespace(times_h=np.array([0.0]), readouts={"spine_density": np.ones((1, 1))})
    base = {k: v[:, 0] for k, v in treated.readouts.items()}
    for name, x in subcircuit_activity(healthy, baseline=base).items():
        assert x[0, 0] == pytest.approx(0.0, abs=1e-12), name


def test_readouts_drive_the_factors_by_name_not_index():
    ro = {"spine_density": np.full((2, 3), 0.8), "potentiation": np.full((2, 3), 0.05)}
    f = plasticity_factors(ro)
    assert np.allclose(f["prefrontal"], 0.85) and np.allclose(f["hippocampal"], 1.0)  # absent hippocampal -> 1
    ro |= {
        "hippocampal_volume": np.full((2, 3), 0.9),
        "immature_neurons": np.full((2, 3), 0.5),
        "neurogenesis": np.full((2, 3), 700.0),
        "plasticity_window": np.full((2, 3), 1.5),
    }
    units = {
        "hippocampal_volume": "fraction of healthy",
        "immature_neurons": "fraction of healthy",
        "neurogenesis": "new neurons per day (one hippocampus)",
        "plasticity_window": "multiplier",
    }
    f = plasticity_factors(ro, units=units)
    v = npl.default_model().values
    assert np.allclose(f["hippocampal"], 0.9 * 0.5 ** v["circuit_neurogenesis_exponent"])
    assert np.allclose(f["prefrontal"], 0.85 * (1 + v["circuit_window_gain"] * 0.5))


@pytest.mark.slow
def test_time_outside_the_simulation_is_refused(treated):
    with pytest.raises(NeuroplastInputError, match="outside the simulation") as e:
        mood_circuit(treated, [10 * DAY], field="--at")
    assert e.value.field == "--at"
    mid = mood_circuit(treated, [0.5 * DAY])  # between saved times: interpolated read-outs
    assert mid.activity.shape == (1, 1, len(REGIONS))


EXAMPLE = """
[trial]
id = "one-infusion"
population = "trd"
scale = "MADRS"
[trial.endpoints]
timepoints = ["1 d", "7 d"]
[[arm]]
name = "ketamine"
  [[arm.dose]]
  drug = "ketamine"
  route = "iv"
  amount = "0.5 mg/kg"
  duration = "40 min"
  at = ["0 d"]
"""


@pytest.mark.parametrize("at, value", [("30 d", "'30 d'"), ("soon", "'soon'"), ("-1 d", "'-1 d'"), ("3 kg", "'3 kg'")])
def test_cli_bad_snapshot_time_exits_2_with_one_line(tmp_path, at, value):
    spec = tmp_path / "p.toml"
    spec.write_text(EXAMPLE)
    out = tmp_path / "out"
    r = invoke("circuit", str(spec), "--at", "0 d", "--at", at, "--out", str(out))
    assert r.exit_code == 2
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "--at" in lines[0] and value in lines[0] and "Traceback" not in r.output
    assert not out.exists()


@pytest.mark.slow
def test_cli_writes_circuit_json_and_figure(tmp_path):
    spec = tmp_path / "p.toml"
    spec.write_text(EXAMPLE)
    out = tmp_path / "out"
    r = invoke("circuit", str(spec), "--at", "0 d", "--at", "1 d", "--at", "7 d", "--out", str(out))
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "circuit.json").read_text())
    assert doc["regions"] == list(REGIONS) and [s["time"] for s in doc["snapshots"]] == ["0 d", "1 d", "7 d"]
    assert [s["time_h"] for s in doc["snapshots"]] == [0.0, 24.0, 168.0]
    first, day1 = doc["snapshots"][0], doc["snapshots"][1]
    assert np.allclose(first["fc_change"], 0.0) and np.allclose(np.diag(day1["fc"]), 1.0)
    assert day1["activity_change"]["sgacc"] < 0 < day1["activity_change"]["vmpfc"]  # back towards health
    assert (out / "figures" / "circuit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
