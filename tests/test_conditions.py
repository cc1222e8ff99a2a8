"""Conditions beyond depression: presets, scales, sub-circuits, calibration.

Oracles: the symptom map's defining identities (baseline -> 1, health -> 0), the committed fit
(deterministic given its seeds), published directions, and the bad-input contract.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroplast import conditions
from neuroplast.calibration import conditions as calibrate
from neuroplast.cohort import PRESETS
from neuroplast.conditions import _symptoms
from neuroplast.instruments import INSTRUMENTS as SCALES
from neuroplast.parameters.conditions import FITTED_PATH, FREE
from neuroplast.trials import load_spec, parse_spec, run_trial

from .cli_run import invoke

EXAMPLES = Path(__file__).parents[1] / "examples"
CONDITION_EXAMPLES = sorted(p for m in conditions.MODULES for p in EXAMPLES.glob(f"{m.NAME}_*.toml"))


def test_every_condition_has_preset_scale_and_example():
    for m in conditions.MODULES:
        assert m.NAME in PRESETS, m.NAME
        p = PRESETS[m.NAME]
        assert len(p.description) > 20 and m.EVIDENCE
        for s in m.SCALES:
            assert SCALES[s["name"]].populations == (m.NAME,)
            assert s["remission_source"]
        assert any(EXAMPLES.glob(f"{m.NAME}_*.toml")), m.NAME
    assert {"CAPS5", "PCL5", "YBOCS", "HAMA", "NRS", "YMRS", "PDD", "HDD", "PUD"} <= set(SCALES)


def test_condition_parameters_are_listed_and_declared():
    from neuroplast.parameters import all_parameters, values

    rows = [p for p in all_parameters() if p.scale == "conditions"]
    assert {p.name for p in rows} == {kw["name"] for kw in conditions.CONDITION_PARAMETERS}
    for p in rows:
        assert p.source in ("fit", "assumption") and len(p.note) > 10, p.name
    fitted = json.loads(FITTED_PATH.read_text())["values"]
    assert set(fitted) == set(FREE)
    for k, v in fitted.items():
        assert values()[k] == v  # the registry serves the committed fit


def test_subcircuit_identities():
    """Oracle: the normalisation's definition. Baseline (first saved time) -> 1; healthy connectivity
    (spines + potentiation = 1) -> 0, for the prefrontal deficit and for every sub-circuit hook of the
    rate model; partial recovery lies in between; a screening read-out without plasticity -> baseline."""
    s = np.array([[0.8, 0.9, 1.0, 0.8]])
    ro = {"spine_density": s, "potentiation": np.zeros_like(s), "expectancy": np.zeros_like(s)}
    np.testing.assert_allclose(_symptoms.subcircuit_activity(ro, "prefrontal"), [[1.0, 0.5, 0.0, 1.0]], atol=1e-12)
    for kind in ("fear", "reward", "compulsion"):
        a = _symptoms.subcircuit_activity(ro, kind)[0]
        np.testing.assert_allclose(a[[0, 2, 3]], [1.0, 0.0, 1.0], atol=1e-9)  # fixed-point tolerance of the rate model
        assert 0.0 < a[1] < 1.0, kind
    table = pd.DataFrame({"baseline_ybocs_true": [30.0]})
    sc = _symptoms.score(ro, table, "baseline_ybocs_true", "prefrontal", 1.0, 1.0)
    np.testing.assert_allclose(sc, [[30.0, 15.0, 0.0, 30.0]], atol=1e-12)
    np.testing.assert_allclose(
        _symptoms.score({"madrs_true": np.ones((1, 1))}, table, "baseline_ybocs_true", "compulsion", 2.0, 1.0), [[30.0]]
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", CONDITION_EXAMPLES, ids=lambda p: p.name)
def test_condition_example_runs(path):
    spec = load_spec(path)
    r = run_trial(spec, n_per_arm=6)
    scale = SCALES[spec.trial.scale]
    for arm in r.arms.values():
        assert np.all(arm.simulation.ok)
        assert np.isfinite(arm.scores).all() and (arm.scores >= 0).all() and (arm.scores <= scale.max).all()
    for arm in r.summary.arms.values():
        keys = set(arm.safety.to_json_dict())  # the safety block of summary.json
        if spec.trial.population == "bipolar_depression":
            assert {"ymrs_peak_mean", "share_mania_switch", "share_ymrs_above_12"} <= keys
        else:
            assert "ymrs_peak_mean" not in keys


def test_scale_population_mismatch_is_one_line_exit_2(tmp_path):
    text = (EXAMPLES / "alcohol_use_disorder_ketamine_vs_midazolam.toml").read_text()
    spec = tmp_path / "bad.toml"
    spec.write_text(text.replace('scale = "PDD"', 'scale = "YBOCS"', 1))
    out = tmp_path / "out"
    r = invoke("trial", spec, "--out", out)
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "trial.scale" in r.stderr and "YBOCS" in r.stderr and str(spec) in r.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "population, scale", [("trd", "CAPS5"), ("ptsd", "MADRS"), ("ocd", "HAMA"), ("chronic_pain", "YMRS")]
)
def test_scale_population_mismatch_in_the_library(population, scale):
    from neuroplast import NeuroplastInputError

    data = {
        "trial": {"id": "x", "population": population, "scale": scale, "endpoints": {"timepoints": ["1 d"]}},
        "arm": [{"name": "k", "dose": [{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min"}]}],
    }
    with pytest.raises(NeuroplastInputError, match="does not fit population"):
        parse_spec(data)


@pytest.fixture(scope="module")
def calibration_sims():
    from neuroplast import default_model

    return calibrate.simulate_calibration(default_model(), calibrate.N)


@pytest.mark.slow
def test_fitted_values_reproduce(calibration_sims):
    """Oracle: the committed fitted.json. The fit is deterministic given its seeds and n (common random
    numbers), up to round-off of the solver's threaded reductions. The OCD likelihood is flat along a
    gain/expectancy ridge, so round-off moves the optimiser's stopping point by ~1e-5 in value and ~1e-5
    in log-likelihood: hence 1e-4 on the log-likelihood (a meaningless difference) and 1e-3 on the values,
    far below their uncertainty (SE of ptsd_gain ~4; the OCD ridge ~0.5 wide).
    A failure means the model changed under the conditions: rerun ``neuroplast calibrate-conditions``."""
    committed = json.loads(FITTED_PATH.read_text())
    assert committed["n_per_arm"] == calibrate.N
    again = calibrate.fit(sims=calibration_sims)
    assert again["ocd"]["joint"]["loglik"] == pytest.approx(committed["ocd"]["joint"]["loglik"], abs=1e-4)
    assert again["feder2014"]["simulated_difference"] == pytest.approx(12.7, abs=1e-6)
    for k in FREE:
        assert again["values"][k] == pytest.approx(committed["values"][k], abs=1e-3), k


@pytest.mark.slow
def test_directions_ketamine_beats_control(calibration_sims, model):
    """Published directions, with the fitted values: feder2014 (IES-R lower after ketamine than midazolam),
    rodriguez2013_ocd (more responders than saline); dakwar2020_alcohol (fewer drinking days than midazolam)."""
    v = model.values
    assert calibrate.feder_difference(calibration_sims, v) > 0
    assert calibrate.response_probability(
        calibration_sims["rodriguez2013_ocd ketamine"], v
    ) > calibrate.response_probability(calibration_sims["rodriguez2013_ocd saline"], v)
    from neuroplast.calibration.conditions_validate import TRIALS

    r = run_trial(parse_spec(TRIALS["aud"]), model=model, n_per_arm=30)
    d = next(c for c in r.summary.contrasts if c.time == "21 d").mean_difference
    assert d < 0


def test_response_probability_single_visit_matches_closed_form(model):
    """Oracle: with one follow-up visit the quadrature over the baseline rating's noise equals the closed
    form P = Phi(-(S_t - 0.65 S_0) / (sd sqrt(1 + 0.65^2))) (difference of two independent normals).
    Tolerance 1e-9: 40-node Gauss-Hermite is exact to round-off for this smooth integrand."""
    from scipy import stats

    v = {**model.values, "ocd_gain": 1.0, "ocd_expectancy_share": 0.0}
    s = np.array([[0.8, 0.9], [0.8, 0.95], [0.8, 0.8]])
    ro = {"spine_density": s, "potentiation": np.zeros_like(s), "expectancy": np.zeros_like(s)}
    table = pd.DataFrame({"baseline_ybocs_true": [25.0, 30.0, 20.0]})
    sim = (ro, table, np.array([0.0, 24.0]), np.ones(3, bool))
    from neuroplast.conditions import ocd

    st = ocd.SCALES[0]["true"](ro, table, v)[:, 1]
    closed = stats.norm.cdf(
        -(st - 0.65 * table["baseline_ybocs_true"].to_numpy()) / (v["ybocs_noise_sd"] * np.sqrt(1 + 0.65**2))
    ).mean()
    assert calibrate.response_probability(sim, v) == pytest.approx(closed, abs=1e-9)


def test_calibration_refuses_tiny_cohorts_before_writing(tmp_path):
    from neuroplast import NeuroplastInputError

    target = tmp_path / "fitted.json"
    with pytest.raises(NeuroplastInputError, match="--n-per-arm"):
        calibrate.main(5, path=target)
    assert not target.exists()


def test_addiction_and_mania_read_outs_follow_their_definitions(model):
    """Oracle: the read-outs' definitions on synthetic read-outs. HDD = PDD x heavy-day share (so HDD <= PDD);
    the YMRS switch term is damped by the mood stabiliser by ``mood_stabiliser_protection``."""
    from neuroplast.conditions import alcohol_use_disorder as aud
    from neuroplast.conditions import bipolar_depression as bp

    v = model.values
    s = np.array([[0.8, 0.9], [0.8, 0.9]])
    ro = {
        "spine_density": s,
        "potentiation": np.zeros_like(s),
        "expectancy": np.zeros_like(s),
        "cadss": np.zeros_like(s),
    }
    t = pd.DataFrame(
        {
            "baseline_pdd_true": [80.0, 60.0],
            "heavy_day_share": [0.5, 1.0],
            "baseline_ymrs_true": [4.0, 4.0],
            "on_mood_stabiliser": [True, False],
        }
    )
    pdd = SCALES["PDD"].true(ro, t, v)
    hdd = SCALES["HDD"].true(ro, t, v)
    np.testing.assert_allclose(hdd, pdd * t["heavy_day_share"].to_numpy()[:, None])
    assert (pdd[:, 1] < pdd[:, 0]).all() and aud.NAME in SCALES["HDD"].populations
    y = bp.ymrs(ro, t, v)
    rise = y[:, 1] - y[:, 0]
    np.testing.assert_allclose(rise[0], rise[1] * (1 - v["mood_stabiliser_protection"]), rtol=1e-12)
