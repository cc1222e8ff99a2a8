"""Spec validation: every bad input is one NeuroplastInputError naming the field and value."""

import copy
from pathlib import Path

import pytest

import neuroplast as npl
from neuroplast.trials import load_spec, parse_spec
from neuroplast.workflows import DEMO_SPEC

from .spec_edit import edited

EXAMPLES_DIR = Path(__file__).parents[1] / "examples"

BASE = {
    "trial": {"id": "t", "population": "trd", "scale": "MADRS", "n_per_arm": 10, "endpoints": {"timepoints": ["1 d"]}},
    "arm": [
        {
            "name": "k",
            "dose": [{"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}],
        }
    ],
}


def spec_with(path, value):
    return edited(BASE, path, value)


DOSE = ("arm", 0, "dose", 0)


@pytest.mark.parametrize(
    "path, value, field, text",
    [
        (DOSE + ("drug",), "ketamin", "arm[0].dose[0].drug", "unknown drug"),
        (DOSE + ("route",), "rectal", "arm[0].dose[0].route", "unknown route"),
        (DOSE + ("drug",), "midazolam", "arm[0].dose[0].amount", "safety ceiling"),
        (("trial", "scale"), "BDI", "trial.scale", "unknown scale"),
        (("trial", "population"), "martians", "trial.population", "unknown population"),
        (DOSE + ("amount",), "-0.5 mg/kg", "arm[0].dose[0].amount", "negative"),
        (DOSE + ("amount",), KeyError, "arm[0].dose[0].amount", "missing"),
        (DOSE + ("amount",), 0.5, "arm[0].dose[0].amount", "no unit"),
        (DOSE + ("amount",), "0.5", "arm[0].dose[0].amount", "no unit"),
        (DOSE + ("amount",), "0.5 blorps/kg", "arm[0].dose[0].amount", "wrong unit for a dose"),
        (DOSE + ("duration",), "40 mg", "arm[0].dose[0].duration", "wrong unit"),
        (DOSE + ("at",), ["-1 d"], "arm[0].dose[0].at[0]", "before 0"),
        (("trial", "endpoints", "timepoints"), ["-2 h"], "trial.endpoints.timepoints[0]", "before 0"),
        (DOSE + ("amount",), "2 mg/kg", "arm[0].dose[0].amount", "safety ceiling"),
        (DOSE + ("amount",), "200 mg", "arm[0].dose[0].amount", "safety ceiling"),
        (("trial", "n_per_arm"), -3, "trial.n_per_arm", "greater than or equal"),
        (("trial", "seed"), -1, "trial.seed", "greater than or equal"),
        (("trial", "colour"), "blue", "trial.colour", "Extra inputs"),
        (DOSE + ("every",), "1 d", "arm[0].dose[0].at", "not both"),
    ],
)
def test_bad_input_names_field_and_value(path, value, field, text):
    with pytest.raises(npl.NeuroplastInputError) as exc:
        parse_spec(spec_with(path, value), file="spec.toml")
    line = str(exc.value)
    assert "\n" not in line
    assert line.startswith("spec.toml")
    assert f"field '{field}'" in line
    assert text in line


def _dose_spec(**dose):
    d = copy.deepcopy(BASE)
    d["arm"][0]["dose"][0] = {"at": ["0 d"], **dose}
    return d


@pytest.mark.parametrize(
    "dose, field, text",
    [
        (
            {"drug": "midazolam", "route": "intranasal", "amount": "2 mg"},
            "arm[0].dose[0].route",
            "unknown route for midazolam",
        ),
        ({"drug": "arketamine", "route": "oral", "amount": "50 mg"}, "arm[0].dose[0].route", "known: iv"),
        ({"drug": "esketamine", "route": "intranasal", "amount": "30 mg"}, "arm[0].dose[0].amount", "28 mg devices"),
        ({"drug": "esketamine", "route": "intranasal", "amount": "112 mg"}, "arm[0].dose[0].amount", "safety ceiling"),
        (
            {"drug": "esketamine", "route": "intranasal", "amount": "0.5 mg/kg"},
            "arm[0].dose[0].amount",
            "28 mg devices",
        ),
        (
            {"drug": "escitalopram", "route": "iv", "amount": "10 mg", "duration": "1 h"},
            "arm[0].dose[0].route",
            "known: oral",
        ),
        (
            {"drug": "escitalopram", "route": "oral", "amount": "40 mg"},
            "arm[0].dose[0].amount",
            "safety ceiling of 20 mg",
        ),
        (
            {"drug": "sertraline", "route": "oral", "amount": "300 mg"},
            "arm[0].dose[0].amount",
            "safety ceiling of 200 mg",
        ),
        (
            {"drug": "ketamine", "route": "oral", "amount": "5 mg/kg"},
            "arm[0].dose[0].amount",
            "safety ceiling of 3 mg/kg",
        ),
        (
            {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg"},
            "arm[0].dose[0].duration",
            "missing infusion duration",
        ),
    ],
)
def test_drug_route_rules(dose, field, text):
    """Unknown drug/route pairs, non-existent device doses and per-drug, per-route ceilings: one line."""
    with pytest.raises(npl.NeuroplastInputError) as exc:
        parse_spec(_dose_spec(**dose), file="spec.toml")
    line = str(exc.value)
    assert "\n" not in line and f"field '{field}'" in line and text in line, line


def test_esketamine_devices_are_five_minutes_apart():
    """84 mg intranasal esketamine = three 28 mg devices, one every 5 minutes (Spravato label)."""
    reg = parse_spec(_dose_spec(drug="esketamine", route="intranasal", amount="84 mg")).regimens()["k"]
    assert [round(d.time_h * 60, 6) for d in reg.doses] == [0.0, 5.0, 10.0]
    assert {d.amount for d in reg.doses} == {28.0}


def test_high_dose_override():
    d = spec_with(DOSE + ("amount",), "2 mg/kg")
    with pytest.raises(npl.DoseCeilingError):
        parse_spec(d)
    assert parse_spec(d, allow_high_dose=True).regimens(allow_high_dose=True)["k"].doses[0].amount == 2.0


def test_repeats_expand_eagerly():
    d = spec_with(DOSE + ("at",), KeyError)
    d["arm"][0]["dose"][0].update({"start": "0 d", "every": "3.5 d", "count": 6})
    doses = parse_spec(d).regimens()["k"].doses
    assert [x.time_h for x in doses] == [84.0 * k for k in range(6)]
    assert all(x.duration_h == pytest.approx(2 / 3) for x in doses)


def test_malformed_toml(tmp_path):
    from neuroplast.trials import load_spec

    p = tmp_path / "bad.toml"
    p.write_text("[trial\nid = 1")
    with pytest.raises(npl.NeuroplastInputError, match="bad.toml: malformed TOML"):
        load_spec(p)


def _with_therapy(*sessions, doses=None):
    d = copy.deepcopy(BASE)
    d["arm"][0]["therapy"] = list(sessions)
    if doses is not None:
        d["arm"][0]["dose"] = doses
    return d


def test_therapy_sessions_become_events():
    spec = parse_spec(
        _with_therapy(
            {"kind": "cbt", "start": "1 d", "every": "7 d", "count": 4},
            {"kind": "exercise", "start": "0 d", "every": "2 d", "count": 3},
        )
    )
    reg = spec.regimens()["k"]
    kinds = [s.kind for s in reg.sessions]
    assert kinds.count("cbt") == 4 and kinds.count("exercise") == 3
    assert all(d.drug == "ketamine" for d in reg.doses)  # sessions are sessions, not doses
    assert [e.time_h for e in reg.events] == sorted(e.time_h for e in (*reg.doses, *reg.sessions))
    assert reg.last_dose_h == 0.0  # relapse counts from the last drug dose, not the last session


@pytest.mark.parametrize(
    "bad, field, value",
    [
        (_with_therapy({"kind": "hypnosis", "at": ["1 d"]}), "arm[0].therapy[0].kind", "hypnosis"),
        (
            _with_therapy({"kind": "cbt", "start": "0 d", "every": "30 min", "count": 3}),
            "arm[0].therapy[0].every",
            "30 min",
        ),
        (
            _with_therapy({"kind": "cbt", "at": ["1 d"]}, {"kind": "cbt", "at": ["1 d"]}),
            "arm[0].therapy[1].start",
            None,
        ),
        (_with_therapy({"kind": "cbt", "at": ["1 d"], "duration": "12 h"}), "arm[0].therapy[0].duration", "12 h"),
        (
            _with_therapy(doses=[{"drug": "escitalopram", "route": "oral", "amount": "10 mg", "at": ["0 d", "3 d"]}]),
            "arm[0].dose[0].every",
            None,
        ),
        (
            _with_therapy(
                doses=[
                    {
                        "drug": "sertraline",
                        "route": "oral",
                        "amount": "50 mg",
                        "start": "0 d",
                        "every": "2 d",
                        "count": 5,
                    }
                ]
            ),
            "arm[0].dose[0].every",
            "2 d",
        ),
    ],
)
def test_bad_therapy_and_daily_dosing(bad, field, value):
    """Unknown therapy kinds, overlapping sessions of one kind, oral SSRIs without a daily schedule: one line each."""
    with pytest.raises(npl.NeuroplastInputError) as exc:
        parse_spec(bad)
    assert exc.value.field == field
    if value is not None:
        assert exc.value.value == value


def test_trials_longer_than_five_years_need_an_override():
    d = copy.deepcopy(BASE)
    d["trial"]["endpoints"]["timepoints"] = ["2200 d"]
    with pytest.raises(npl.NeuroplastInputError, match="5-year limit") as exc:
        parse_spec(d)
    assert exc.value.field == "trial.endpoints"
    d["trial"]["allow_long"] = True
    parse_spec(d)


def test_wait_list_arm_has_no_events():
    d = copy.deepcopy(BASE)
    d["arm"].append({"name": "wait list"})
    spec = parse_spec(d)
    assert spec.regimens()["wait list"].doses == ()


def test_parsed_spec_is_fully_resolved():
    """``parse_spec`` / ``load_spec`` return a resolved trial: every default filled, and the remission
    threshold the scale's own cut-off when the spec gives none (HAM-D17: <= 7, as test_examples checks)."""
    d = {
        "trial": {"id": "t", "population": "trd", "endpoints": {"timepoints": ["1 d"]}},
        "arm": [
            {"name": "k", "dose": [{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}]}
        ],
    }
    t = parse_spec(d).trial
    assert (t.scale, t.design, t.n_per_arm, t.seed, t.endpoints.response) == ("MADRS", "parallel", 100, 1, 0.5)
    assert t.endpoints.remission is not None and t.allow_long is False and t.compare_with == []
    assert parse_spec(d).arm[0].dose[0].route == "iv"
    d["trial"]["scale"] = "HAMD17"
    spec = parse_spec(d)
    assert spec.trial.endpoints.remission == spec.remission_threshold() == 7.0
    d["trial"]["endpoints"]["remission"] = 5
    assert parse_spec(d).trial.endpoints.remission == 5.0  # a given threshold is kept


@pytest.mark.parametrize("path", sorted(EXAMPLES_DIR.glob("*.toml")) + [DEMO_SPEC], ids=lambda p: p.name)
def test_every_example_loads_resolved(path):
    spec = load_spec(path)
    assert spec.trial.endpoints.remission == spec.remission_threshold()
