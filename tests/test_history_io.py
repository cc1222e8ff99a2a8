"""History readers (CSV and FHIR R4) and their bad-input contract: one line naming the row or resource."""

import datetime as dt
import json
from pathlib import Path

import pytest

from neuroplast import NeuroplastInputError
from neuroplast.io.history import read_history

EX = Path(__file__).parents[1] / "examples"
NOW = dt.datetime(2026, 10, 24, 12, tzinfo=dt.UTC)
HEADER = "record,time,item,value,route,duration\n"
COVS = "covariate,,weight,80 kg,,\ncovariate,,sex,male,,\n"


def test_csv_and_fhir_examples_read_the_same_history():
    a = read_history(EX / "patient_history.csv", now=NOW)
    b = read_history(EX / "patient_history.fhir.json", now=NOW)
    assert [(o.time, o.instrument, o.score) for o in a.observations] == [
        (o.time, o.instrument, o.score) for o in b.observations
    ]
    assert [(d.time, d.drug, d.route) for d in a.doses] == [(d.time, d.drug, d.route) for d in b.doses]
    assert (a.weight_kg, a.female) == (b.weight_kg, b.female) == (78.0, True)
    assert a.observations[0].time.tzinfo is not None  # naive CSV times are read as UTC


def _csv(tmp_path, body, name="h.csv"):
    p = tmp_path / name
    p.write_text(HEADER + COVS + body)
    return p


@pytest.mark.parametrize(
    "body, where, words",
    [
        ("score,2026-01-05T08:30,PHQ9,28,,\n", "row 4", "out of range"),
        ("score,2026-01-05T08:30,MADRS,61,,\n", "row 4", "out of range"),
        ("score,2026-01-05T08:30,BDI,20,,\n", "row 4", "unknown instrument"),
        ("score,2026-01-06T08:30,PHQ9,20,,\nscore,2026-01-05T08:30,PHQ9,18,,\n", "row 5", "out of order"),
        ("score,2027-01-05T08:30,PHQ9,20,,\n", "row 4", "in the future"),
        ("score,2026-01-05T08:30,PHQ9,20,,\ndose,2026-01-05T09:00,ketamine,0.5,iv,40 min\n", "row 5", "unit"),
        ("score,2026-01-05T08:30,PHQ9,20,,\ndose,2026-01-05T09:00,arketamine,20 mg,im,\n", "row 5", "not modelled yet"),
        ("score,yesterday,PHQ9,20,,\n", "row 4", "ISO 8601"),
        ("score,2026-01-05T08:30,PHQ9,20\n", "row 4", "malformed"),
    ],
)
def test_csv_bad_input_names_row_and_value(tmp_path, body, where, words):
    with pytest.raises(NeuroplastInputError) as e:
        read_history(_csv(tmp_path, body), now=NOW)
    msg = e.value.one_line()
    assert where in msg and words in msg and "h.csv" in msg and "\n" not in msg


def _bundle(tmp_path, mutate):
    b = json.loads((EX / "patient_history.fhir.json").read_text())
    mutate(b)
    p = tmp_path / "b.json"
    p.write_text(json.dumps(b))
    return p


def _first(b, rtype):
    return next(i for i, e in enumerate(b["entry"]) if e["resource"]["resourceType"] == rtype)


@pytest.mark.parametrize(
    "mutate, words",
    [
        (
            lambda b: (
                b["entry"][_first(b, "MedicationAdministration")]["resource"]["dosage"]["dose"].pop("unit")
                and b["entry"][_first(b, "MedicationAdministration")]["resource"]["dosage"]["dose"].pop("code")
            ),
            "without a unit",
        ),
        (lambda b: b["entry"][2]["resource"].update(valueInteger=30), "out of range"),
        (lambda b: b["entry"][2]["resource"].update(code={"text": "GAD7"}), "unknown instrument"),
        (lambda b: b["entry"][2]["resource"].update(effectiveDateTime="2030-01-01T00:00:00Z"), "in the future"),
    ],
)
def test_fhir_bad_input_names_resource(tmp_path, mutate, words):
    p = _bundle(tmp_path, mutate)
    with pytest.raises(NeuroplastInputError) as e:
        read_history(p, now=NOW)
    assert words in e.value.one_line() and "entry[" in e.value.one_line()


def test_fhir_malformed_json_and_wrong_resource(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(NeuroplastInputError, match="malformed JSON"):
        read_history(p, now=NOW)
    p.write_text(json.dumps({"resourceType": "Patient"}))
    with pytest.raises(NeuroplastInputError, match="not a FHIR R4 Bundle"):
        read_history(p, now=NOW)


def test_readers_take_no_identifiers(tmp_path):
    """Privacy: names and identifiers in the Bundle reach nothing the reader returns."""

    def add_ids(b):
        pat = b["entry"][_first(b, "Patient")]["resource"]
        pat.update(name=[{"family": "Secretname"}], identifier=[{"value": "MRN-424242"}], id="pat-77")

    h = read_history(_bundle(tmp_path, add_ids), now=NOW)
    text = repr(h)
    assert "Secretname" not in text and "MRN-424242" not in text and "pat-77" not in text
