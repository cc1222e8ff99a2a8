"""NONMEM-style datasets: export -> import round trip, predictions beside DV, and the bad-input contract.

Oracles: the round trip must give back the very doses of the protocol (times, durations, mg for
the patient's weight, drug, route) and the covariates exactly (to float round-off of the decimal
text, 1e-9), and for the typical patient the re-imported predictions must equal the exported DVs:
the same model and solver run twice (rtol 1e-6), only the save grid differs, so they agree to
1e-6 of each analyte's peak.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neuroplast as npl
from neuroplast._errors import NeuroplastInputError
from neuroplast.io.nonmem import CMT_ROUTES, DVID_CODES, export_nonmem, predict, read_nonmem, write_nonmem
from neuroplast.trials import load_spec

from .cli_run import invoke

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "examples" / "nonmem").glob("*.csv"))

SPEC = """
[trial]
id = "routes"
population = "trd"
[trial.endpoints]
timepoints = ["1 d", "4 d"]

[[arm]]
name = "iv"
  [[arm.dose]]
  drug = "ketamine"
  amount = "0.5 mg/kg"
  duration = "40 min"
  at = ["0 d", "2 d"]
[[arm]]
name = "nasal"
  [[arm.dose]]
  drug = "esketamine"
  route = "intranasal"
  amount = "56 mg"
  at = ["0 d", "3.5 d"]
[[arm]]
name = "oral"
  [[arm.dose]]
  drug = "escitalopram"
  route = "oral"
  amount = "10 mg"
  start = "0 d"
  every = "1 d"
  count = 3
  [[arm.dose]]
  drug = "ketamine"
  route = "sublingual"
  amount = "25 mg"
  at = ["12 h"]
[[arm]]
name = "placebo"
  [[arm.dose]]
  drug = "midazolam"
  amount = "0.045 mg/kg"
  duration = "40 min"
  at = ["0 d"]
"""

TIMES = [
    0.25,
    0.75,
    2.0,
    8.0,
    24.0,
    50.0,
    90.0,
    336.0,
]  # ends at HORIZON_STEP_H: export and import share one compiled solve


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "routes.toml"
    path.write_text(SPEC)
    return load_spec(path)


def _same_doses(regimen, expected, weight):
    got, want = regimen.doses, expected.doses
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert (g.drug, g.route) == (w.drug, w.route)
        np.testing.assert_allclose(
            [g.time_h, g.duration_h, float(g.amount_mg(np.asarray(weight)))],
            [w.time_h, w.duration_h, float(w.amount_mg(np.asarray(weight)))],
            rtol=1e-9,
            atol=1e-12,
        )


@pytest.mark.slow
def test_round_trip_typical_patient(spec, tmp_path, model):
    df = export_nonmem(spec, times_h=TIMES, model=model)
    path = tmp_path / "typical.csv"
    write_nonmem(df, path)
    data = read_nonmem(path)
    regimens = spec.regimens()
    assert [i.id for i in data.individuals] == ["1", "2", "3", "4"]
    for ind, name in zip(data.individuals, regimens):
        _same_doses(ind.regimen, regimens[name], 70.0)
        assert (ind.weight_kg, ind.female, ind.age_y) == (70.0, False, 45.0)
    table, summary = predict(data, model=model)
    obs = table[table["EVID"] == "0"]
    assert len(obs) == len(df[df["EVID"] == 0]) and obs["PRED"].notna().all()
    assert set(obs["ANALYTE"]) == {"ketamine_plasma", "norketamine_plasma", "escitalopram_plasma", "midazolam_plasma"}
    for analyte, g in obs.groupby("ANALYTE"):
        dv = g["DV"].astype(float).to_numpy()
        np.testing.assert_allclose(g["PRED"].to_numpy(), dv, rtol=0, atol=1e-6 * dv.max(), err_msg=analyte)
        # the typical patient is the reference patient: PRED_REF is the same prediction
        np.testing.assert_allclose(g["PRED_REF"].to_numpy(), g["PRED"].to_numpy(), rtol=1e-12)
        assert summary["analytes"][analyte]["n_observed"] == len(g)
    assert obs["DV"].astype(float).max() > 10  # real concentrations, not a comparison of zeros


@pytest.mark.slow
def test_round_trip_cohort(spec, tmp_path, model):
    """Sampled patients: weight-based mg, sex and age survive the round trip; DVs differ from PRED by IIV."""
    df = export_nonmem(spec, arms=["iv", "nasal"], n_patients=3, seed=5, times_h=TIMES, model=model)
    path = tmp_path / "cohort.csv"
    write_nonmem(df, path)
    data = read_nonmem(path)
    assert len(data.individuals) == 6 and set(df["ARM"]) == {1, 2}
    regimens = spec.regimens()
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 3, seed=5, arm="iv")  # the trial's streams of arm iv
    for k, ind in enumerate(data.individuals):
        name = "iv" if k < 3 else "nasal"
        _same_doses(ind.regimen, regimens[name], ind.weight_kg)
        if k < 3:
            row = cohort.table.iloc[k]
            assert ind.weight_kg == pytest.approx(row["weight_kg"], rel=1e-12)
            assert ind.female == bool(row["female"]) and ind.age_y == pytest.approx(row["age_y"], rel=1e-12)
    assert df.loc[df["EVID"] == 1, "AMT"].nunique() > 2  # the IV doses follow each patient's weight


def _write(tmp_path, text):
    p = tmp_path / "data.csv"
    p.write_text(text)
    return p


HEAD = "ID,TIME,AMT,RATE,CMT,EVID,DV"
OK = f"{HEAD}\n1,0,35,52.5,1,1,.\n1,1,0,0,0,0,120\n"


@pytest.mark.parametrize(
    "text, field, value, words",
    [
        (OK.replace(",RATE", ""), "RATE", None, "missing column"),
        (f"{HEAD}\n1,0,35,52.5,1,1,.\n1,2,0,0,0,0,120\n1,1,0,0,0,0,100\n", "row 4 TIME", "'1'", "decreases"),
        (f"{HEAD}\n1,0,-35,52.5,1,1,.\n", "row 2 AMT", "'-35'", "negative"),
        (f"{HEAD}\n1,0,35,-2,1,1,.\n", "row 2 RATE", "'-2'", "not supported"),
        (f"{HEAD}\n1,0,35,52.5,1,3,.\n", "row 2 EVID", "'3'", "not supported"),
        (f"{HEAD}\n1,0,35,52.5,9,1,.\n", "row 2 CMT", "'9'", "route"),
        (f"{HEAD}\n1,0,200,300,1,1,.\n", "row 2 AMT", "'200'", "safety ceiling"),
        (f"{HEAD},DRUG\n1,0,30,0,3,1,.,esketamine\n", "row 2 AMT", "'30'", "28 mg devices"),
        (f"{HEAD},DRUG\n1,0,5,0,3,1,.,midazolam\n", "row 2 CMT", "'3'", "route"),
        (f"{HEAD},DRUG\n1,0,5,0,1,1,.,aspirin\n", "row 2 DRUG", "'aspirin'", "unknown drug"),
        (f"{HEAD}\n1,0,35,52.5,1,1,.\n2,0,35,52.5,1,1,.\n1,3,0,0,0,0,5\n", "row 4 ID", "'1'", "contiguous"),
        (f"{HEAD},WT\n1,0,35,52.5,1,1,.,70\n1,1,0,0,0,0,120,80\n", "row 3 WT", "'80'", "time-varying"),
        (f"{HEAD},WT\n1,0,35,52.5,1,1,.,700\n", "row 2 WT", "'700'", "between"),
        (f"{HEAD},DVID\n1,0,35,52.5,1,1,.,.\n1,1,0,0,0,0,120,99\n", "row 3 DVID", "'99'", "unknown DVID"),
        (f"{HEAD},ROUTE\n1,0,35,52.5,1,1,.,oral\n", "row 2 ROUTE", "'oral'", "disagrees"),
        (f"{HEAD}\n1,0,35,52.5,1,1,.\n1,1,5,0,0,0,120\n", "row 3 AMT", "'5'", "observation"),
        (f"{HEAD},SS\n1,0,35,52.5,1,1,.,1\n", "row 2 SS", "'1'", "steady-state"),
        (f"{HEAD},ADDL\n1,0,35,52.5,1,1,.,2\n", "row 2 II", None, "positive II"),
        (f"{HEAD}\n1,zero,35,52.5,1,1,.\n", "row 2 TIME", "'zero'", "expected a number"),
        (f"{HEAD}\n1,0,35,52.5,1,1\n", "row 2", None, "expected 7 values"),
        (f"{HEAD},{HEAD[:2]}\n", "ID", None, "duplicate column"),
    ],
)
def test_bad_dataset_names_row_field_and_value(tmp_path, text, field, value, words):
    path = _write(tmp_path, text)
    with pytest.raises(NeuroplastInputError) as exc:
        read_nonmem(path)
    line = exc.value.one_line()
    assert str(path) in line and f"field '{field}'" in line and words in line, line
    if value is not None:
        assert f"value {value}" in line, line
    assert "\n" not in line


def test_valid_optional_columns(tmp_path):
    """Names or codes for DRUG and DVID, M/F for SEX, comments, ADDL/II, ROUTE agreeing with CMT, extra columns."""
    text = (
        "#ID,TIME,AMT,RATE,CMT,EVID,MDV,DV,DVID,DRUG,ROUTE,SEX,WT,ADDL,II,OCC\n"
        "# a comment line\n"
        "7,0,28,0,3,1,1,.,.,esketamine,intranasal,F,60,1,72,1\n"
        "7,1,0,0,0,0,0,80,s_ketamine_plasma,.,.,F,60,0,0,1\n"
        "7,2,0,0,.,0,1,.,10,.,.,F,60,0,0,1\n"
    )
    data = read_nonmem(_write(tmp_path, text))
    (ind,) = data.individuals
    assert ind.female and ind.weight_kg == 60.0 and data.ignored_columns == ("OCC",)
    assert [(d.time_h, d.amount, d.unit) for d in ind.regimen.doses] == [(0.0, 28.0, "mg"), (72.0, 28.0, "mg")]
    assert [(o.analyte, o.dv) for o in ind.observations] == [("s_ketamine_plasma", 80.0), ("sbp", None)]


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_run(path, model):
    """Every shipped dataset reads, validates and predicts: finite, non-negative, drug reaches plasma."""
    data = read_nonmem(path)
    assert data.individuals and all(i.regimen.doses for i in data.individuals)
    table, _ = predict(data, model=model)
    obs = table[table["EVID"] == "0"]
    assert len(obs) > 0 and np.isfinite(obs["PRED"]).all() and (obs["PRED"] >= 0).all()
    assert obs.loc[obs["ANALYTE"].str.endswith("_plasma"), "PRED"].max() > 10


def test_docs_tables_match_the_code():
    doc = (ROOT / "docs" / "interop.md").read_text()
    for cmt, route in CMT_ROUTES.items():
        assert re.search(rf"\|\s*{cmt}\s*\|\s*{route}\s*\|", doc), (cmt, route)
    for code, name in DVID_CODES.items():
        assert re.search(rf"\|\s*{code}\s*\|\s*`{name}`", doc), (code, name)


@pytest.mark.slow
def test_cli_import_and_export(tmp_path):
    # predictions run to 336 h (HORIZON_STEP_H) as in the round-trip tests, so the compiled solver is reused
    data = _write(
        tmp_path,
        "ID,TIME,AMT,RATE,CMT,EVID,DV,DVID,WT\n1,0,50,0,2,1,.,.,60\n1,0.5,0,0,0,0,150,1,60\n"
        "1,90,0,0,0,0,.,sbp,60\n2,0,10,0,4,1,.,.,.\n2,24,10,0,4,1,.,.,.\n2,26,0,0,0,0,8,.,.\n",
    )
    out = tmp_path / "pred"
    r = invoke("nonmem", str(data), "--out", str(out))
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out / "predictions.csv", dtype=str)
    obs = table[table["EVID"] == "0"]
    assert (obs["PRED"] != ".").all() and (table.loc[table["EVID"] == "1", "PRED"] == ".").all()
    assert list(obs["RES"] != ".") == [True, False, True]  # DV - PRED where DV was observed
    assert list(obs["ANALYTE"]) == ["ketamine_plasma", "sbp", "ketamine_plasma"]
    assert {"PRED", "PRED_REF", "RES", "ANALYTE", "UNIT"} <= set(table.columns) and (out / "summary.json").exists()
    csv = tmp_path / "data.csv"
    r = invoke(
        "nonmem-export",
        str(ROOT / "examples" / "ketamine_vs_midazolam.toml"),
        "--arm",
        "midazolam",
        "--times",
        "20 min, 2 h, 14 d",
        "--analytes",
        "midazolam_plasma,sedation",
        "--out",
        str(csv),
    )
    assert r.exit_code == 0, r.output
    df = pd.read_csv(csv)
    assert list(df["EVID"]) == [1, 0, 0, 0, 0, 0, 0] and set(df.loc[df["EVID"] == 0, "DVID"]) == {"6", "13"}


@pytest.mark.parametrize(
    "text, needle",
    [
        (OK.replace(",RATE", ""), "missing column"),
        (f"{HEAD}\n1,0,35,52.5,1,1,.\n1,2,0,0,0,0,120\n1,1,0,0,0,0,100\n", "row 4 TIME"),
        (f"{HEAD}\n1,0,-35,52.5,1,1,.\n", "row 2 AMT"),
    ],
)
def test_cli_bad_dataset(tmp_path, text, needle):
    """The issue's three malformed datasets: exit 2, one line naming the file, nothing written."""

    path = _write(tmp_path, text)
    out = tmp_path / "out"
    r = invoke("nonmem", str(path), "--out", str(out))
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and needle in r.stderr and str(path) in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not out.exists() and not list(tmp_path.glob(".out.tmp-*"))


@pytest.mark.slow  # mostly the cost of importing JAX in a fresh process
def test_cli_bad_dataset_in_a_real_process(tmp_path):
    path = _write(tmp_path, f"{HEAD}\n1,0,-35,52.5,1,1,.\n")
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "neuroplast.cli", "nonmem", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "row 2 AMT" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
