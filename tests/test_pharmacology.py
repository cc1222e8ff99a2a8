"""Pharmacology end to end: `neuroplast pk`, monitored safety in summary.json, HAM-D6, dose response."""

import json
from pathlib import Path

import numpy as np
import pytest

from neuroplast.trials import load_spec, run_trial

from .cli_run import invoke

EXAMPLES = Path(__file__).parents[1] / "examples"


ESKETAMINE_84 = """
[trial]
id = "esk"
population = "trd"
[trial.endpoints]
timepoints = ["1 d"]
[[arm]]
name = "esketamine 84 mg"
  [[arm.dose]]
  drug = "esketamine"
  route = "intranasal"
  amount = "84 mg"
  at = ["0 d"]
"""


@pytest.mark.slow  # compiles two nasal-esketamine kernels
def test_pk_command_json_per_species(tmp_path):
    """`neuroplast pk --json`: one object keyed by species with the four NCA keys; esketamine's
    Tmax after the last of three devices (10 min) lies in the label's 20-40 min and its terminal
    half-life in 7-12 h (spravato_label_esketamine_pk). A placebo arm has no species."""
    r = invoke("pk", str(EXAMPLES / "esketamine_dose_finding.toml"), "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {}  # the first arm is the placebo spray
    (tmp_path / "esk.toml").write_text(ESKETAMINE_84)
    r = invoke("pk", str(tmp_path / "esk.toml"), "--json", "--weight", "70000 g")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"esketamine", "norketamine"}
    for v in out.values():
        assert set(v) == {"cmax_ng_per_ml", "tmax_h", "auc_ng_h_per_ml", "terminal_half_life_h"}
    assert 20 <= (out["esketamine"]["tmax_h"] - 10 / 60) * 60 <= 40
    assert 7 <= out["esketamine"]["terminal_half_life_h"] <= 12


def test_pk_command_racemate_reports_enantiomers_and_metabolites():
    r = invoke("pk", str(EXAMPLES / "ketamine_vs_midazolam.toml"), "--json")
    out = json.loads(r.stdout)
    assert {"ketamine", "esketamine", "arketamine", "norketamine", "hnk"} <= set(out)
    k = out["ketamine"]
    assert k["cmax_ng_per_ml"] == pytest.approx(
        out["esketamine"]["cmax_ng_per_ml"] + out["arketamine"]["cmax_ng_per_ml"], rel=0.02
    )  # peaks at the same sample, (S) slightly lower
    assert r.exit_code == 0


@pytest.mark.parametrize(
    "weight, text", [("70", "no unit"), ("7 kg", "between 20 and 250 kg"), ("70 min", "wrong unit")]
)
def test_pk_command_bad_weight(weight, text):
    r = invoke("pk", str(EXAMPLES / "ketamine_vs_midazolam.toml"), "--weight", weight)
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and "--weight" in r.stderr and text in r.stderr, r.stderr


def test_safety_summary_per_arm_and_discharge():
    """summary.json keeps the foundation safety keys and adds DBP, heart rate, the label's BP rises
    and the discharge time; after nasal esketamine nobody leaves before 2 h after the last device."""
    res = run_trial(load_spec(EXAMPLES / "esketamine_dose_finding.toml"), n_per_arm=12)
    for name, arm in res.summary.arms.items():
        s = arm.safety.to_json_dict()
        assert {
            "cadss_peak_mean",
            "sbp_peak_mean",
            "sbp_largest_mean_rise",
            "sedation_peak_mean",
            "share_sbp_above_160",
            "share_sbp_above_180",
        } <= set(s)
        assert {
            "dbp_largest_mean_rise",
            "heart_rate_largest_mean_rise",
            "share_sbp_rise_40",
            "share_dbp_rise_25",
            "discharge_h_median",
            "discharge_h_p90",
        } <= set(s)
        for k, v in s.items():
            assert v is None or np.isfinite(v), (name, k)
    p = res.patients[res.patients["arm"] == "esketamine 84 mg"]
    assert (p["discharge_h"] >= 2.0 + 10 / 60 - 1e-9).all()
    esk, pbo = res.summary.arms["esketamine 84 mg"].safety, res.summary.arms["placebo"].safety
    assert esk.cadss_peak_mean > pbo.cadss_peak_mean == 0.0
    assert esk.dbp_largest_mean_rise > 0 and esk.heart_rate_largest_mean_rise > 0


def test_hamd6_scale_and_mechanistic_dose_response(model):
    """HAM-D6: scores within 0-22, remission default <= 4. Across 0.1-1.0 mg/kg the peak NMDA block
    rises with dose and so does the surge on its ascending limb (0.1 < 0.5 mg/kg); at the end of an
    anaesthetic infusion (3 mg/kg, A35 range), when block is deepest, the surge has reversed below
    the 0.5 mg/kg surge: the inverted U of C01 (on the way up every dose passes the optimum, so the
    comparison is at peak block, not peak surge)."""
    import neuroplast as npl

    res = run_trial(load_spec(EXAMPLES / "ketamine_dose_response.toml"), n_per_arm=8)
    assert res.summary.scale == "HAMD6"
    for arm in res.arms.values():
        assert arm.scores.min() >= 0 and arm.scores.max() <= 22
    assert res.spec.remission_threshold() == 4.0
    doses = ["ketamine 0.1 mg/kg", "ketamine 0.2 mg/kg", "ketamine 0.5 mg/kg", "ketamine 1.0 mg/kg"]
    peak = {n: res.arms[n].simulation.readouts["occupancy_interneuron"].max(axis=1).mean() for n in doses}
    assert all(peak[a] < peak[b] for a, b in zip(doses, doses[1:]))

    def surge(mg_per_kg):
        reg = npl.build_regimen(
            [{"drug": "ketamine", "amount": f"{mg_per_kg} mg/kg", "duration": "40 min"}], allow_high_dose=True
        )
        sim = npl.simulate(model, reg, npl.typical_patient(model.values), saveat=np.array([0.0, 40 / 60]))
        return sim.readouts["glutamate"][0, -1]  # at the end of the infusion: deepest block

    assert surge(0.1) < surge(0.5)
    assert surge(3.0) < surge(0.5)
