"""Strict input: every case an outside fuzzing found run as a different dose, a traceback or a silent skip.

Oracle: the specification of the input grammar (docs/trial-format.md, docs/interop.md, docs/forecast.md):
each input either is refused with one line naming the file, the field and the text as written (exit status
2, nothing written), or is run as written. No simulation runs here: every refusal comes before one.
"""

import copy
import datetime as dt
import json
import time
from pathlib import Path

import pytest

from neuroplast import NeuroplastInputError
from neuroplast._units import parse_amount, parse_quantity
from neuroplast.io.history import read_history
from neuroplast.io.nonmem import read_nonmem
from neuroplast.regimen import build_regimen
from neuroplast.trials import load_spec, parse_spec

from .cli_run import invoke
from .spec_edit import edited

EXAMPLES = Path(__file__).parents[1] / "examples"
BASE = {
    "trial": {"id": "t", "population": "trd", "n_per_arm": 10, "endpoints": {"timepoints": ["1 d"]}},
    "arm": [
        {
            "name": "k",
            "dose": [{"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}],
        }
    ],
}
DOSE = ("arm", 0, "dose", 0)


def spec_with(path, value):
    return edited(BASE, path, value)


def refused(data, field: str, words: str):
    with pytest.raises(NeuroplastInputError) as exc:
        parse_spec(data, file="t.toml")
    line = str(exc.value)
    assert "\n" not in line and line.startswith("t.toml"), line
    assert f"field '{field}'" in line and words in line, line
    return line


@pytest.mark.parametrize(
    "text",
    ["0,5 mg/kg", "∞ mg", "0.5 mg/kg mg", "nan mg/kg", "inf mg", "1e400 mg", "0.5 kg/mg", "0.5 mg/kg/h", "5e-1"],
)
def test_malformed_amounts_are_refused_naming_the_text(text):
    """Each of these ran as a different dose (0,5 -> 0; ∞ -> 1 mg; 'mg/kg mg' -> 5e-7 mg) or as n = 0."""
    line = refused(spec_with(DOSE + ("amount",), text), "arm[0].dose[0].amount", "")
    assert repr(text) in line


@pytest.mark.parametrize("text, hours", [("100 y", 876600.0), ("2 weeks", 336.0), ("1.5e1 min", 0.25)])
def test_times_in_the_listed_units(text, hours):
    """Closed form: pint's year is 365.25 d; 'y' is the year (it was refused, while the error spoke of years)."""
    assert parse_quantity(text, "time", field="f") == pytest.approx(hours, rel=1e-12)


@pytest.mark.parametrize("text", ["nan d", "inf h", "1 d 2", "1.2.3 h", "3 hours ago", "1 mg"])
def test_malformed_times_are_refused(text):
    refused(spec_with(("trial", "endpoints", "timepoints"), [text]), "trial.endpoints.timepoints[0]", "")
    refused(spec_with(DOSE + ("at",), [text]), "arm[0].dose[0].at[0]", "")


def test_amount_written_is_the_amount_given():
    """The dose in the regimen is the number and unit written (no conversion surprise)."""
    assert parse_amount("500 ug/kg", field="f") == (0.5, "mg/kg")
    assert parse_amount("35 mg", field="f") == (35.0, "mg")
    assert parse_amount(" 0.5mg/kg ", field="f") == (0.5, "mg/kg")


def test_stacked_doses_cannot_pass_the_ceiling():
    """200 rows of 0.5 mg/kg at one time (100 mg/kg) were run without --allow-high-dose."""
    stacked = spec_with(DOSE + ("at",), ["0 d"] * 200)
    line = refused(stacked, "arm[0].dose[0].amount", "24 h")
    assert "2 mg/kg" in line and "1.5 mg/kg" in line  # named at the first dose that passes the ceiling
    parse_spec(stacked, allow_high_dose=True)  # the override is the only way past
    # two rows of the same drug within a day count together; a day apart they do not
    two = copy.deepcopy(BASE)
    two["arm"][0]["dose"].append({**BASE["arm"][0]["dose"][0], "amount": "1.2 mg/kg", "at": ["20 h"]})
    refused(two, "arm[0].dose[1].amount", "1.7 mg/kg")
    two["arm"][0]["dose"][1]["at"] = ["1 d"]
    parse_spec(two)


def test_the_ketamine_family_counts_together_and_daily_pills_per_day():
    rows = [
        {"drug": "ketamine", "amount": "1 mg/kg", "duration": "40 min", "at": ["0 h"]},
        {"drug": "esketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["2 h"]},
    ]
    with pytest.raises(NeuroplastInputError, match="1.33 times"):  # 1/1.5 + 0.5/0.75
        build_regimen(rows)
    pill = {"drug": "escitalopram", "route": "oral", "amount": "20 mg", "start": "0 d", "count": 14}
    assert len(build_regimen([{**pill, "every": "1 d"}]).doses) == 14  # the label's daily maximum, daily
    with pytest.raises(NeuroplastInputError, match="40 mg, above the safety ceiling of 20 mg"):
        build_regimen([{**pill, "every": "12 h"}])


def test_huge_schedules_are_refused_at_once():
    """count = 10,000,000 was expanded (about a minute) before the span check."""
    t0 = time.perf_counter()
    dose = {"drug": "escitalopram", "route": "oral", "amount": "10 mg", "every": "1 d", "count": 10_000_000}
    refused(spec_with(DOSE, dose), "arm[0].dose[0].count", "more than 20000")
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(
    "path, value, field, words",
    [
        (("trial", "seed"), 2**70, "trial.seed", "less than or equal"),
        (("trial", "id"), "a\x00b", "trial.id", "control characters"),
        (("trial", "id"), "x" * 201, "trial.id", "200 characters"),
        (("arm", 0, "name"), "   ", "arm[0].name", "empty"),
        (("trial", "endpoints", "remission"), -10, "trial.endpoints.remission", "greater than or equal"),
        (("trial", "endpoints", "remission"), float("inf"), "trial.endpoints.remission", "finite"),
        (("trial", "endpoints", "remission"), 70, "trial.endpoints.remission", "0 to 60"),
        (("trial", "endpoints", "response"), float("nan"), "trial.endpoints.response", "finite"),
        (DOSE + ("at",), ["36500 d"], "arm[0]", "start it at"),
    ],
)
def test_out_of_range_fields(path, value, field, words):
    refused(spec_with(path, value), field, words)


def test_files_that_are_not_utf8_toml(tmp_path):
    text = """[trial]
id = "t"
population = "trd"
[trial.endpoints]
timepoints = ["1 d"]
[[arm]]
name = "k"
[[arm.dose]]
drug = "ketamine"
amount = "0.5 mg/kg"
duration = "40 min"
"""
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_spec(bom).trial.id == "t"  # a byte-order mark is fine
    cases = {
        "latin1.toml": (text.replace('"t"', '"caf\xe9"').encode("latin-1"), "not UTF-8"),
        "binary.toml": (bytes(range(256)) * 4, "not UTF-8"),
        "nested.toml": (b"a = " + b"[" * 100_000 + b"]" * 100_000, "malformed TOML"),
        "huge.toml": (text.encode() + b"#" * 1_100_000, "larger than"),
    }
    for name, (data, words) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(NeuroplastInputError) as exc:
            load_spec(p)
        line = str(exc.value)
        assert line.startswith(str(p)) and words in line and "\n" not in line, line


# ------------------------------------------------------------------------------------ patient histories
HISTORY = "record,time,item,value,route,duration\ncovariate,,weight,80 kg,,\ncovariate,,sex,male,,\n"
NOW = dt.datetime(2026, 10, 24, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "body, field, words",
    [
        ("dose,2026-01-05T09:00,ketamine,1e9 mg,iv,40 min\n", "row 5 amount", "safety ceiling"),
        ("dose,2026-01-05T09:00,ketamine,50 mg/kg,iv,40 min\n", "row 5 amount", "safety ceiling"),
        ("dose,2026-01-05T09:00,ketamine,0,5 mg/kg,iv,40 min\n", "row 5", "malformed"),
        ("dose,2026-01-05T09:00,ketamine,nan mg/kg,iv,40 min\n", "row 5 amount", "cannot read"),
        (
            "dose,2026-01-05T09:00,ketamine,1 mg/kg,iv,40 min\ndose,2026-01-05T15:00,ketamine,1 mg/kg,iv,40 min\n",
            "row 6 amount",
            "per 24 h",
        ),
        ("score,2027-01-05T08:30,PHQ9,20,,\nscore,2026-01-06T08:30,PHQ9,18,,\n", "row 5 time", "in the future"),
        ("score,2026-01-05T08:30,PHQ9,nan,,\n", "row 5 score", "as a number"),
        ("score,2026-01-05T08:30,PHQ9,1_0,,\n", "row 5 score", "number"),
    ],
)
def test_history_doses_and_scores_are_read_strictly(tmp_path, body, field, words):
    """A history with a 1e9 mg or 50 mg/kg dose was fitted and forecast; a future time was blamed on the next
    row as "out of order"."""
    p = tmp_path / "h.csv"
    p.write_text(HISTORY + "score,2026-01-05T08:00,PHQ9,20,,\n" + body)
    with pytest.raises(NeuroplastInputError) as exc:
        read_history(p, now=NOW)
    line = exc.value.one_line()
    assert field in line and words in line and "h.csv" in line and "\n" not in line, line


def test_history_high_doses_need_the_override(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text(HISTORY + "score,2026-01-05T08:00,PHQ9,20,,\ndose,2026-01-05T09:00,ketamine,2 mg/kg,iv,40 min\n")
    assert read_history(p, now=NOW, allow_high_dose=True).doses[0].amount == "2 mg/kg"


@pytest.mark.parametrize("weight", ["NaN", "Infinity", "1e400", "true", '"82,5"'])
def test_fhir_body_weight_must_be_a_finite_number(tmp_path, weight):
    b = json.loads((EXAMPLES / "patient_history.fhir.json").read_text())
    for e in b["entry"]:
        q = e["resource"].get("valueQuantity")
        if q and q.get("code") in ("kg", "[lb_av]"):
            q["value"] = "@W@"
    p = tmp_path / "b.json"
    p.write_text(json.dumps(b).replace('"@W@"', weight))
    with pytest.raises(NeuroplastInputError, match="weight"):
        read_history(p, now=NOW)


# ------------------------------------------------------------------------------------ NONMEM datasets
@pytest.mark.parametrize(
    "text, field, words",
    [
        ("ID,TIME,AMT,RATE,CMT,EVID,DV,ADDL,II\n1,0,35,52.5,1,1,.,1000000,24\n", "row 2 ADDL", "more than 20000"),
        ("ID,TIME,AMT,RATE,CMT,EVID,DV,WT\n1,0,35,52.5,1,1,.,abc\n1,1,0,0,0,0,.,70\n", "row 2 WT", "number"),
        ("ID,TIME,AMT,RATE,CMT,EVID,DV\nabc,0,35,52.5,1,1,.\n", "row 2 ID", "number"),
        ("ID,TIME,AMT,RATE,CMT,EVID,DV\n-1,0,35,52.5,1,1,.\n", "row 2 ID", "positive whole number"),
        ("ID,TIME,AMT,RATE,CMT,EVID,DV\n1.5,0,35,52.5,1,1,.\n", "row 2 ID", "whole number"),
        ("ID,TIME,AMT,RATE,CMT,EVID,DV\n1,0,35,52.5,1,1,.\n" + "1,0,35,52.5,1,1,.\n" * 3, "row 5 AMT", "per 24 h"),
        ("ID,TIME,AMT,RATE,CMT,EVID,DV\n1,nan,35,52.5,1,1,.\n", "row 2 TIME", "expected a number"),
        ("ID,TIME,AMT,RATE,CMT,EVID,DV\n1,0,1_000,52.5,1,1,.\n", "row 2 AMT", "number"),
    ],
)
def test_nonmem_records_are_read_strictly(tmp_path, text, field, words):
    """ADDL = 1,000,000 hung the process at 7.7 GB; a bad WT was blamed on the next row; IDs 'abc', '-1' and
    '1.5' were accepted; stacked records passed the ceiling."""
    p = tmp_path / "d.csv"
    p.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(NeuroplastInputError) as exc:
        read_nonmem(p)
    assert time.perf_counter() - t0 < 1.0
    line = exc.value.one_line()
    assert field in line and words in line and "d.csv" in line and "\n" not in line, line


@pytest.mark.parametrize("args, option", [(["--n-per-arm", "0"], "--n-per-arm"), (["--seed", str(2**40)], "--seed")])
def test_command_line_overrides_are_held_to_the_files_bounds(tmp_path, args, option):
    out = tmp_path / "out"
    r = invoke("trial", str(EXAMPLES / "ketamine_vs_midazolam.toml"), "--out", str(out), *args)
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and f"field '{option}'" in r.stderr, r.stderr
    assert not out.exists()


def test_an_inclusion_that_admits_nobody_is_one_line_naming_the_file(tmp_path):
    """Found while the cohort is drawn: it printed a progress-bar line beside the error and named no file."""
    text = (EXAMPLES / "ssri_vs_placebo.toml").read_text()
    spec = tmp_path / "inpatients.toml"
    spec.write_text(text.replace("[trial.inclusion]", "[trial.inclusion]\ninpatient = true", 1))
    out = tmp_path / "out"
    r = invoke("trial", str(spec), "--out", str(out), "--n-per-arm", "4")
    assert r.exit_code == 2, (r.stdout, r.stderr, r.exception)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"error: {spec}") and "trial.inclusion" in r.stderr
    assert not out.exists()


SALINE_ARM = {"name": "s", "dose": [{"drug": "saline", "route": "iv", "amount": "0 mg", "duration": "40 min"}]}


def crossover(xo=None, **trial):
    """BASE as a two-arm crossover (ketamine 'k', saline 's'), ``xo`` its [trial.crossover] (None: left out)."""
    d = copy.deepcopy(BASE)
    d["arm"].append(copy.deepcopy(SALINE_ARM))
    d["trial"]["design"] = "crossover"
    if xo is not None:
        d["trial"]["crossover"] = xo
    d["trial"].update(trial)
    return d


@pytest.mark.parametrize(
    "data, field, words",
    [
        (crossover(), "trial.crossover", "needs a [trial.crossover]"),
        (crossover({"period": "2 d"}), "trial.crossover.washout", "needs a washout"),
        (crossover({"washout": "a week"}), "trial.crossover.washout", "a week"),
        (crossover({"washout": "7"}), "trial.crossover.washout", "unit"),
        (crossover({"washout": "-1 d"}), "trial.crossover.washout", "negative"),
        (crossover({"washout": "7 d", "period": "7 mg"}), "trial.crossover.period", "7 mg"),
        (crossover({"washout": "7 d", "period": "12 h"}), "trial.crossover.period", "last timepoint"),
        (crossover({"washout": "7 d", "period": "0 d"}), "trial.crossover.period", "longer than 0"),
        (crossover({"washout": "7 d", "sequences": [["k", "x"], ["x", "k"]]}), "trial.crossover.sequences[0][1]",
         "unknown arm"),
        (crossover({"washout": "7 d", "sequences": [["k"], ["s", "k"]]}), "trial.crossover.sequences[0]",
         "missing: s"),
        (crossover({"washout": "7 d", "sequences": [["k", "k", "s"], ["s", "k"]]}), "trial.crossover.sequences[0][1]",
         "once per sequence"),
        (crossover({"washout": "7 d", "sequences": [["k", "s"], ["k", "s"]]}), "trial.crossover.sequences[1]",
         "must differ"),
        (crossover({"washout": "7 d", "sequences": [["k", "s"]]}), "trial.crossover.sequences", "confounded"),
        (crossover({"washout": "7 d", "sequences": []}), "trial.crossover.sequences", "at least 1"),
        (crossover({"washout": "7 d", "bogus": 1}), "trial.crossover.bogus", "Extra inputs"),
        ({**crossover({"washout": "7 d"}), "arm": BASE["arm"]}, "arm", "at least two arms"),
        (crossover({"washout": "7 d"}, washout="7 d"), "trial.washout", "give the washout once"),
        (crossover({"washout": "7 d"}, analysis={"method": "mmrm"}), "trial.analysis", "own mixed model"),
        ({**BASE, "trial": {**BASE["trial"], "crossover": {"washout": "7 d"}}}, "trial.crossover",
         'needs design = "crossover"'),
    ],
)  # fmt: skip
def test_crossover_input_is_refused_naming_the_field(data, field, words):
    refused(data, field, words)


def test_crossover_period_shorter_than_an_arms_doses_and_follow_up_are_refused():
    d = crossover({"washout": "7 d", "period": "2 d"})
    d["arm"][0]["dose"][0]["at"] = ["0 d", "3 d"]
    refused(d, "trial.crossover.period", "arm 'k''s doses")
    d = crossover({"washout": "7 d"})
    d["trial"]["endpoints"]["follow_up"] = "14 d"
    refused(d, "trial.endpoints.follow_up", "no follow_up")


def test_crossover_washout_may_come_from_the_older_trial_key():
    """``[trial] washout`` is the crossover's washout when [trial.crossover] gives none, and stays accepted (and
    unused) in a parallel trial; the period defaults to the last timepoint or the end of the last dose."""
    spec = parse_spec(crossover({}, washout="5 d"))
    xo = spec.crossover()
    assert (xo.washout, xo.washout_h, xo.period_h) == ("5 d", 120.0, 24.0)
    assert xo.sequences == (("k", "s"), ("s", "k")) and xo.start_h(1) == 144.0
    parallel = copy.deepcopy(BASE)
    parallel["trial"]["washout"] = "5 d"
    assert parse_spec(parallel).crossover() is None


def test_crossover_stacked_doses_across_a_short_washout_hit_the_ceiling():
    d = crossover({"washout": "0 d", "period": "20 h"})
    d["arm"][0]["dose"][0]["amount"] = "1.0 mg/kg"
    d["trial"]["endpoints"]["timepoints"] = ["12 h"]
    d["arm"][1] = copy.deepcopy(d["arm"][0]) | {"name": "s"}
    refused(d, "trial.crossover.washout", "within 24 h")
