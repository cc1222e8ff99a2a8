"""Blinding: who knows the treatment, and what knowing does to expectancy."""

import copy
import tomllib
from pathlib import Path

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.trials import parse_spec, run_trial

from .cli_run import invoke
from .conftest import one_patient

EXAMPLES = Path(__file__).parents[1] / "examples"

INFUSION = {"route": "iv", "duration": "40 min", "at": ["0 d"]}
SPEC = {
    "trial": {"id": "b", "population": "trd", "n_per_arm": 4, "endpoints": {"timepoints": ["1 d"]}},
    "arm": [
        {"name": "ketamine", "dose": [{"drug": "ketamine", "amount": "0.5 mg/kg", **INFUSION}]},
        {"name": "midazolam", "dose": [{"drug": "midazolam", "amount": "0.045 mg/kg", **INFUSION}]},
        {"name": "saline", "dose": [{"drug": "saline", "amount": "0 mg", **INFUSION}]},
        {"name": "wait list"},
    ],
}


def spec(blinding=None):
    d = copy.deepcopy(SPEC)
    if blinding is not None:
        d["trial"]["blinding"] = blinding
    return parse_spec(d)


SPEC_ARMS = spec().arm


def test_only_an_open_label_treatment_arm_knows():
    # oracle: the rule of trial-format.md -- open label, and a drug neither inert nor an active placebo
    assert spec().trial.blinding == "double"
    for blinding in (None, "double", "single"):
        assert not any(spec(blinding).open_label(a.name) for a in SPEC_ARMS)
    open_ = spec("open")
    assert [open_.open_label(a.name) for a in SPEC_ARMS] == [True, False, False, False]


def test_unknown_blinding_exits_2_in_one_line(tmp_path):
    text = (
        (EXAMPLES / "ketamine_vs_midazolam.toml")
        .read_text()
        .replace('population = "trd"', 'population = "trd"\nblinding = "triple"')
    )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    r = invoke("trial", path, "--out", tmp_path / "out")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    line = r.stderr.strip()
    assert "\n" not in line and "bad.toml" in line and "'trial.blinding'" in line and "triple" in line
    assert not (tmp_path / "out").exists()


def test_an_open_label_crossover_is_refused():
    data = tomllib.loads((EXAMPLES / "zarate2006_crossover.toml").read_text())
    data["trial"]["blinding"] = "open"
    with pytest.raises(npl.NeuroplastInputError) as e:
        parse_spec(data, file="x.toml")
    assert e.value.field == "trial.blinding" and e.value.value == "open"


PILL = {"drug": "escitalopram", "route": "oral", "amount": "10 mg", "start": "0 d", "every": "1 d", "count": 14}


@pytest.mark.parametrize(
    "dose, factor",
    [({"drug": "ketamine", "amount": "0.5 mg/kg", **INFUSION}, "expectancy_open"), (PILL, "expectancy_open_pill")],
)
def test_knowing_scales_the_expectancy_amplitude(model, dose, factor):
    # oracle: with no felt effect the expectancy ODE is homogeneous of degree 1 in its amplitude and its state (base x
    # (1 + factor) when told; a session's or a pill's), from 0: the told patient's expectancy is (1 + factor) times the
    # blinded one's at every time. Tolerance 1e-6 relative: both solves are adaptive (rtol 1e-8), each its own steps.
    m = model.with_values(expectancy_felt=0.0, **{factor: 0.5})
    regimen = npl.build_regimen([dose])
    ts = np.array([0.0, 0.5, 1.0, 4.0, 24.0, 72.0, 240.0])
    cohort = one_patient(m)
    engine = npl.engine.Tsit5(rtol=1e-8, atol=1e-12)
    blind = npl.simulate(m, regimen, cohort, saveat=ts, engine=engine).readouts["expectancy"][0]
    told = npl.simulate(m, regimen, cohort.told(True), saveat=ts, engine=engine).readouts["expectancy"][0]
    assert blind[1:].min() > 0 and told.max() < 0.9  # expectancy built, and no clip reached
    np.testing.assert_allclose(told, 1.5 * blind, rtol=1e-6, atol=1e-12)


def test_blinding_changes_only_the_arms_that_know(model):
    # oracle: the rule -- the arms that do not know run the same patients through the same model, so their numbers
    # are the same to the last digit; the told ketamine arm improves more (expectancy_open > 0)
    m = model.with_values(expectancy_open=0.5)
    blind, told = (run_trial(spec(b), model=m, n_per_arm=4) for b in ("double", "open"))
    assert "blinding" not in blind.summary.to_json_dict() and told.summary.to_json_dict()["blinding"] == "open"
    for arm in ("midazolam", "saline", "wait list"):
        assert told.summary.arms[arm].timepoints[0].mean_change == blind.summary.arms[arm].timepoints[0].mean_change
    assert (
        told.summary.arms["ketamine"].timepoints[0].mean_change
        < blind.summary.arms["ketamine"].timepoints[0].mean_change
    )


def test_a_single_blind_crossover_says_so():
    # oracle: the summary's contract (outputs.md) -- blinding is written when it is not double
    data = tomllib.loads((EXAMPLES / "zarate2006_crossover.toml").read_text())
    data["trial"]["blinding"] = "single"
    summary = run_trial(parse_spec(data), n_per_arm=4).summary.to_json_dict()
    assert summary["blinding"] == "single" and summary["design"] == "crossover"
