"""CLI end to end on small cohorts, and the bad-input contract (exit 2, one line, nothing written)."""

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from .cli_run import cli, invoke

EXAMPLE = Path(__file__).parents[1] / "examples" / "ketamine_vs_midazolam.toml"


@pytest.mark.slow  # a real process, the example's kernel
def test_trial_end_to_end(tmp_path):
    out = tmp_path / "run"
    r = cli("trial", str(EXAMPLE), "--n-per-arm", "16", "--seed", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text())
    # every output has the mode an ordinary write gives it under the umask (report.html was once 0600, the
    # folder 0700: temporary files renamed into place); oracle: a file and a folder made here the ordinary way
    (tmp_path / "plain").write_text("")
    (tmp_path / "plain_dir").mkdir()
    plain, plain_dir = (tmp_path / "plain").stat().st_mode & 0o777, (tmp_path / "plain_dir").stat().st_mode & 0o777
    modes = {f.relative_to(out): f.stat().st_mode & 0o777 for f in [out, *out.rglob("*")]}
    assert modes == {f: plain_dir if (out / f).is_dir() else plain for f in modes}
    # the summary.json keys of docs/outputs.md
    assert set(s) >= {"trial", "scale", "seed", "neuroplast_version", "arms", "contrasts"}
    assert s["seed"] == 3 and s["scale"] == "MADRS"
    arm = s["arms"]["ketamine"]
    assert arm["n"] + arm["n_failed"] == 16
    assert set(arm["baseline"]) == {"mean", "sd"}
    tp = arm["timepoints"][2]
    assert tp["time"] == "1 d" and tp["time_h"] == 24.0
    assert set(tp) == {
        "time",
        "time_h",
        "mean_score",
        "mean_change",
        "sd_change",
        "response_rate",
        "remission_rate",
        "hippocampal_volume_pct",
        "plasticity_window",
        "learning",
        "n_observed",
        "contributions",
    }  # the brain keys and contributions: extensions
    assert math.isclose(sum(tp["contributions"].values()), tp["mean_change"], abs_tol=1e-9)  # exact in sum
    assert tp["n_observed"] == arm["n"] and arm["n_dropped"] == 0 and s["analysis"] == "observed"
    assert 50.0 < tp["hippocampal_volume_pct"] <= 100.0 and tp["plasticity_window"] >= 1.0
    assert set(arm["brain"]) >= {
        "hippocampal_volume_pct_start",
        "hippocampal_volume_change_pct",
        "plasticity_window_peak",
    }
    assert set(arm["relapse"]) >= {"responders_at_last_dose", "median_days_to_relapse"}
    c = s["contrasts"][0]
    assert c["arms"] == ["ketamine", "midazolam"] and len(c["ci95"]) == 2
    assert set(c) >= {"arms", "time", "mean_difference", "ci95", "odds_ratio_response", "cohens_d", "p_value"}
    assert c["method"] == "welch" and set(c["response"]) == {"odds_ratio", "ci95", "p_value", "method"}
    patients = pd.read_parquet(out / "patients.parquet")
    assert len(patients) == 32 and set(patients["arm"]) == {"ketamine", "midazolam"}
    ds = xr.open_dataset(out / "trajectories.nc", engine="h5netcdf")
    assert {"ketamine_plasma", "occupancy_interneuron", "bdnf", "spine_density", "score", "cadss", "sbp"} <= set(
        ds.data_vars
    )
    ds.close()
    html = (out / "report.html").read_text()
    # no link out of the page; the embedded figures' base64 text is left out of the search: it spells "http" by
    # chance (64^-4 per position: about once in 17 MB of it, so in a few % of reports)
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert "not a medical device" in html and "data:image/png;base64" in html
    assert "http" not in text.replace("http-equiv", "")
    assert not list(tmp_path.glob(".run.tmp-*"))


@pytest.mark.slow  # two trials in this process, each compiling its cohort's kernel
@pytest.mark.parametrize(
    "args, field",
    [
        (["--allow-high-dose"], None),
    ],
)
def test_high_dose_needs_override(tmp_path, args, field):
    spec = tmp_path / "high.toml"
    spec.write_text(EXAMPLE.read_text().replace('amount = "0.5 mg/kg"', 'amount = "2 mg/kg"'))
    out = tmp_path / "out"
    r = invoke("trial", spec, "--n-per-arm", "8", "--out", out)
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "arm[0].dose[0].amount" in r.stderr and "'2 mg/kg'" in r.stderr and "--allow-high-dose" in r.stderr
    assert not out.exists()
    r = invoke("trial", spec, "--n-per-arm", "8", "--out", out, *args)
    assert r.exit_code == 0, (r.stderr, r.exception)


@pytest.mark.parametrize(
    "old, new, expect",
    [
        ('drug = "ketamine"', 'drug = "ketamin"', "arm[0].dose[0].drug"),
        ('route = "iv"', 'route = "nasal"', "arm[0].dose[0].route"),
        ('scale = "MADRS"', 'scale = "BDI"', "trial.scale"),
        ('population = "trd"', 'population = "zzz"', "trial.population"),
        ('amount = "0.5 mg/kg"', 'amount = "-0.5 mg/kg"', "arm[0].dose[0].amount"),
        ('amount = "0.5 mg/kg"', "amount = 0.5", "arm[0].dose[0].amount"),
        ('amount = "0.5 mg/kg"', 'amount = "0.5 zorks"', "arm[0].dose[0].amount"),
        ('"40 min", "4 h"', '"-40 min", "4 h"', "trial.endpoints.timepoints[0]"),
        ("[trial.endpoints]", "[trial.endpoints", "malformed TOML"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, old, new, expect):
    """Each bad field: exit status 2, one line on stderr naming the file and the field, nothing in --out. Run in
    this process (typer's runner: the command's own code, exit code and streams; the refusal comes before any
    simulation, so a process per case would only add a JAX import each); ``test_bad_input_in_a_real_process``
    checks the same through a real process."""
    text = EXAMPLE.read_text()
    assert old in text
    spec = tmp_path / "bad.toml"
    spec.write_text(text.replace(old, new, 1))
    out = tmp_path / "out"
    r = invoke("trial", spec, "--out", out)
    assert r.exit_code == 2, (r.stdout, r.stderr, r.exception)
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert str(spec) in r.stderr and expect in r.stderr
    assert not out.exists()


@pytest.mark.slow  # a real process (importing JAX)
def test_bad_input_in_a_real_process(tmp_path):
    """The same refusal from a real ``neuroplast`` process: exit status 2, one line, no traceback."""
    spec = tmp_path / "bad.toml"
    spec.write_text(EXAMPLE.read_text().replace('route = "iv"', 'route = "nasal"', 1))
    r = cli("trial", str(spec), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "arm[0].dose[0].route" in r.stderr and not (tmp_path / "out").exists()


def test_missing_file_is_a_clear_error(tmp_path):
    r = invoke("trial", tmp_path / "nope.toml", "--out", tmp_path / "o")
    assert r.exit_code == 2 and "nope.toml" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow  # compiles the one-patient kernel
def test_simulate_one_patient(tmp_path):
    out = tmp_path / "sim"
    r = invoke("simulate", EXAMPLE, "--arm", "ketamine", "--weight", "90", "--days", "10", "--out", out)
    assert r.exit_code == 0, (r.stderr, r.exception)
    ds = xr.open_dataset(out / "trajectories.nc", engine="h5netcdf")
    assert ds.sizes["patient"] == 1 and float(ds["time_h"].max()) == 240.0
    assert float(ds["ketamine_plasma"].max()) > 100
    ds.close()
    assert (out / "report.html").exists()
    r = invoke("simulate", EXAMPLE, "--arm", "nope", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "--arm" in r.stderr


def test_params_lists_sources():
    r = invoke("params", "--scale", "receptors")
    assert r.exit_code == 0
    assert "ki_s_ket" in r.stdout and "B01" in r.stdout


def test_help_is_useful():
    for cmd in ("demo", "simulate", "trial", "validate", "params"):
        r = invoke(cmd, "--help")
        assert r.exit_code == 0 and "Usage" in r.stdout


@pytest.mark.slow  # a real process running the demo trial
def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    r = cli("demo", "--n-per-arm", "24", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "simulated vs published" in r.stdout and "kishimoto2016_meta" in r.stdout
    for f in ("report.html", "summary.json", "patients.parquet", "trajectories.nc", "published.json"):
        assert (out / f).exists(), f
    assert list((out / "figures").glob("*.png"))
