"""One patient's history — rating-scale scores, doses given, covariates — from CSV or a FHIR R4 Bundle.

Both readers return a :class:`PatientHistory` and raise :class:`NeuroplastInputError` naming the
file, the row (CSV: its line number) or the resource (FHIR: ``entry[i] (Type)``) and the offending
value. Privacy: the readers take only what the model needs (times, instruments, scores, doses,
weight, sex, age); names, identifiers, addresses and resource ids are never read, so they cannot
reach a log or an output.

CSV (one row per record; ``#`` starts a comment line; see ``examples/patient_history.csv``)::

    record,time,item,value,route,duration
    covariate,,weight,82 kg,,
    covariate,,sex,female,,
    covariate,,age,44,,
    score,2026-01-05T08:30,PHQ9,21,,
    dose,2026-01-05T09:00,ketamine,0.5 mg/kg,iv,40 min

``record`` is ``score`` (``item`` an instrument: PHQ9, MADRS, QIDS_SR16, HAMD17; ``value`` the
total), ``dose`` (``item`` the drug, ``value`` the amount with its unit, ``route``, ``duration``)
or ``covariate`` (``weight`` with a unit, ``sex`` female/male, ``age`` in years). Times are ISO 8601;
without a UTC offset they are read as UTC. Scores and doses must each be listed in time order.

FHIR R4: a ``Bundle`` of ``Observation`` (PHQ-9 total LOINC 44261-6; body weight LOINC 29463-7;
the other instruments by a coding code or ``code.text`` naming them, e.g. ``MADRS``),
``MedicationAdministration`` (``medicationCodeableConcept``, ``effectivePeriod`` start/end,
``dosage.route``, ``dosage.dose`` with value and unit) and one ``Patient`` (``gender``,
``birthDate``). Entries may come in any order; resources with status ``entered-in-error`` (and
administrations ``not-done``) are skipped.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

from .._errors import NeuroplastInputError
from .._units import parse_number, parse_quantity
from ..regimen import build_regimen
from ..regimen.guardrails import check_window
from ..scales.symptoms.crosswalk import INSTRUMENTS, RANGES

LOINC = "http://loinc.org"
LOINC_INSTRUMENTS = {"44261-6": "PHQ9"}
"""LOINC codes read as instruments (PHQ-9 total score). Other instruments are matched by name."""
LOINC_BODY_WEIGHT = "29463-7"
_ALIASES = {
    "PHQ9": "PHQ9",
    "PHQ": "PHQ9",
    "MADRS": "MADRS",
    "QIDSSR16": "QIDS_SR16",
    "QIDSSR": "QIDS_SR16",
    "HAMD17": "HAMD17",
    "HAMD": "HAMD17",
    "HRSD17": "HAMD17",
    "HDRS17": "HAMD17",
}
_ROUTES = {
    "iv": "iv",
    "intravenous": "iv",
    "47625008": "iv",
    "in": "intranasal",
    "intranasal": "intranasal",
    "nasal": "intranasal",
    "46713006": "intranasal",
    "im": "im",
    "intramuscular": "im",
    "78421000": "im",
    "oral": "oral",
    "po": "oral",
    "26643006": "oral",
    "sublingual": "sublingual",
    "37839007": "sublingual",
}


@dataclasses.dataclass(frozen=True)
class Observation:
    time: dt.datetime  # timezone-aware
    instrument: str  # one of INSTRUMENTS
    score: float
    where: str  # "row 7" / "entry[3] (Observation)": for error messages only


@dataclasses.dataclass(frozen=True)
class DoseRecord:
    time: dt.datetime  # start, timezone-aware
    drug: str
    route: str
    amount: str  # with its unit, e.g. "0.5 mg/kg"
    duration: str  # e.g. "40 min"; "" for a non-infusion without a stated duration
    where: str


@dataclasses.dataclass(frozen=True)
class PatientHistory:
    """What the forecast needs of one patient, and nothing else (no name, no identifier)."""

    observations: tuple[Observation, ...]
    doses: tuple[DoseRecord, ...]
    weight_kg: float
    female: bool
    age_y: float | None
    file: str | None = None

    @property
    def last_time(self) -> dt.datetime:
        return max([o.time for o in self.observations] + [d.time for d in self.doses])


MAX_FILE_BYTES = 10_000_000
"""The largest history file read (years of weekly scores and infusions are a few hundred kB of FHIR)."""


def read_history(path: str | Path, *, now: dt.datetime | None = None, allow_high_dose: bool = False) -> PatientHistory:
    """Read a history from ``.csv`` or FHIR ``.json``; ``now`` (default: the current time) bounds the times.

    Doses are held to the library's ceilings (per administration and per 24 h) unless ``allow_high_dose``."""
    path = Path(path)
    now = _aware(now) if now is not None else dt.datetime.now(dt.UTC)
    if not path.is_file():
        raise NeuroplastInputError("history file not found", file=str(path))
    if path.stat().st_size > MAX_FILE_BYTES:
        raise NeuroplastInputError(f"the file is larger than {MAX_FILE_BYTES // 10**6} MB", file=str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise NeuroplastInputError(
            f"cannot read the file as UTF-8 text ({type(exc).__name__})", file=str(path)
        ) from None
    try:
        if path.suffix.lower() == ".csv":
            h = _from_csv(text, now, allow_high_dose)
        elif path.suffix.lower() == ".json":
            h = _from_fhir(text, now, allow_high_dose)
        else:
            raise NeuroplastInputError(
                "unknown history format: use .csv or a FHIR R4 Bundle in .json",
                field="file name",
                value=path.suffix or path.name,
            )
    except RecursionError:
        raise NeuroplastInputError("malformed JSON: nested too deeply", file=str(path)) from None
    except NeuroplastInputError as exc:
        raise exc.with_file(str(path)) from None
    return dataclasses.replace(h, file=str(path))


# ---------------------------------------------------------------------------------------------- common checks


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _time(text, where: str, field: str) -> dt.datetime:
    if not isinstance(text, str) or not text.strip():
        raise NeuroplastInputError("missing date-time (ISO 8601, e.g. 2026-01-05T09:00)", field=f"{where} {field}")
    try:
        return _aware(dt.datetime.fromisoformat(text.strip()))
    except ValueError:
        raise NeuroplastInputError(
            "not an ISO 8601 date-time (e.g. 2026-01-05T09:00)", field=f"{where} {field}", value=text
        ) from None


def _instrument(name, where: str) -> str:
    key = "".join(ch for ch in str(name).upper() if ch.isalnum())
    if key not in _ALIASES:
        raise NeuroplastInputError(
            f"unknown instrument; known: {', '.join(INSTRUMENTS)}", field=f"{where} instrument", value=name
        )
    return _ALIASES[key]


def _score(value, instrument: str, where: str) -> float:
    x = parse_number(value, field=f"{where} score", what=f"the {instrument} score as a number")
    lo, hi = RANGES[instrument]
    if not lo <= x <= hi:
        raise NeuroplastInputError(f"{instrument} score out of range ({lo}-{hi})", field=f"{where} score", value=value)
    return x


def _dose_checks(drug, route, amount: str, duration: str, where: str, allow_high_dose: bool):
    """Units, durations, the dose's ceiling and whether the library models this drug and route (one line if not);
    returns the dose as the regimen gives it (more than one for esketamine's devices)."""

    if not str(drug or "").strip():
        raise NeuroplastInputError("missing drug", field=f"{where} drug")
    row = {"drug": drug, "route": route, "amount": amount, "at": ["0 h"]}
    if duration:
        row["duration"] = duration
    try:
        return build_regimen([row], field="dose", allow_high_dose=allow_high_dose).doses
    except NeuroplastInputError as exc:
        column = (exc.field or "").rsplit(".", 1)[-1] or "dose"
        raise type(exc)(exc.message, field=f"{where} {column}", value=exc.value) from None


def _finish(
    obs: list[Observation],
    doses: list[DoseRecord],
    weight,
    female,
    age,
    now: dt.datetime,
    *,
    need_order: bool,
    allow_high_dose: bool,
) -> PatientHistory:
    groups: tuple[tuple[Sequence[Observation | DoseRecord], str], ...] = ((obs, "score"), (doses, "dose"))
    for items, kind in groups:
        for x in items:  # a future time first: it would otherwise read as the next row being out of order
            if x.time > now:
                raise NeuroplastInputError(
                    f"{kind} time is in the future (after {now.isoformat(timespec='minutes')})",
                    field=f"{x.where} time",
                    value=x.time.isoformat(),
                )
        for a, b in zip(items, items[1:]):
            if b.time < a.time:
                if need_order:
                    raise NeuroplastInputError(
                        f"{kind} times out of order (each {kind} must not precede the one listed before it)",
                        field=f"{b.where} time",
                        value=b.time.isoformat(),
                    )
    if not need_order:
        obs = sorted(obs, key=lambda o: o.time)
        doses = sorted(doses, key=lambda d: d.time)
    if not obs:
        raise NeuroplastInputError("the history has no rating-scale scores", field="scores")
    if weight is None:
        raise NeuroplastInputError("body weight is missing (needed for the drug's pharmacokinetics)", field="weight")
    if female is None:
        raise NeuroplastInputError("sex is missing (female/male; needed for ketamine clearance)", field="sex")
    _ceilings(doses, allow_high_dose)
    return PatientHistory(tuple(obs), tuple(doses), float(weight), bool(female), age)


def _ceilings(doses: list[DoseRecord], allow_high_dose: bool) -> None:
    """The history's doses within any 24 h, added up against their ceilings (per administration is checked as
    each dose is read; a dose in mg is compared per 70 kg, as in a trial file)."""
    given = []
    for d in doses:
        hours = (d.time - doses[0].time).total_seconds() / 3600.0  # check_window sorts; the origin is any time
        for x in _dose_checks(d.drug, d.route, d.amount, d.duration, d.where, True):
            given.append((dataclasses.replace(x, time_h=x.time_h + hours), d))
    try:
        check_window([(x, d.where) for x, d in given], allow_high_dose=allow_high_dose)
    except NeuroplastInputError as exc:
        record = next(d for _, d in given if d.where == exc.field)
        raise type(exc)(exc.message, field=f"{record.where} amount", value=record.amount) from None


def _weight(value, unit, where: str) -> float:
    """A body weight: CSV's text with its unit ("82 kg"), or FHIR's value and UCUM unit (``[lb_av]`` is lb)."""
    if unit is not None:
        number = parse_number(value, field=f"{where} weight", what="a body weight")
        text = f"{number!r} {str(unit).strip().replace('[lb_av]', 'lb')}"
    else:
        text = str(value)
    kg = parse_quantity(text, "weight", field=f"{where} weight")
    if not 20.0 <= kg <= 300.0:
        raise NeuroplastInputError("body weight must be between 20 and 300 kg", field=f"{where} weight", value=text)
    return kg


def _sex(value, where: str) -> bool:
    v = str(value or "").strip().lower()
    if v in ("female", "f"):
        return True
    if v in ("male", "m"):
        return False
    raise NeuroplastInputError(
        "sex must be female or male (it sets ketamine clearance)", field=f"{where} sex", value=value
    )


def _age(value, where: str) -> float:
    """Years: a plain number, or a time with its unit ("44 y")."""
    text = str(value).strip()
    try:
        years = parse_number(text, field=f"{where} age")
    except NeuroplastInputError:
        years = parse_quantity(text, "time", field=f"{where} age") / (365.25 * 24.0)
    if not 0.0 < years < 120.0:
        raise NeuroplastInputError("age must be between 0 and 120 years", field=f"{where} age", value=value)
    return years


CSV_COLUMNS = ("record", "time", "item", "value", "route", "duration")


def _from_csv(text: str, now: dt.datetime, allow_high_dose: bool) -> PatientHistory:
    lines = [
        (i, ln) for i, ln in enumerate(text.splitlines(), start=1) if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines:
        raise NeuroplastInputError("the CSV file is empty", field="header")
    try:
        rows = list(csv.reader([ln for _, ln in lines], strict=True))
    except csv.Error as exc:
        raise NeuroplastInputError(f"malformed CSV ({exc})", field="rows") from None
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise NeuroplastInputError(
            f"missing column(s) {', '.join(missing)}; the header must be {','.join(CSV_COLUMNS)}",
            field=f"row {lines[0][0]} (header)",
            value=",".join(rows[0]),
        )
    col = {c: header.index(c) for c in CSV_COLUMNS}
    obs, doses = [], []
    weight = female = age = None
    for (lineno, _), row in zip(lines[1:], rows[1:]):
        where = f"row {lineno}"
        if len(row) != len(header):
            raise NeuroplastInputError(
                f"malformed CSV row: {len(row)} fields, the header has {len(header)}", field=where, value=",".join(row)
            )
        get = {c: row[i].strip() for c, i in col.items()}
        kind = get["record"].lower()
        if kind == "score":
            instrument = _instrument(get["item"], where)
            obs.append(
                Observation(
                    _time(get["time"], where, "time"), instrument, _score(get["value"], instrument, where), where
                )
            )
        elif kind == "dose":
            _dose_checks(get["item"], get["route"] or "iv", get["value"], get["duration"], where, allow_high_dose)
            doses.append(
                DoseRecord(
                    _time(get["time"], where, "time"),
                    get["item"].lower(),
                    (get["route"] or "iv").lower(),
                    get["value"],
                    get["duration"],
                    where,
                )
            )
        elif kind == "covariate":
            name = get["item"].lower()
            if name == "weight":
                weight = _weight(get["value"], None, where)
            elif name == "sex":
                female = _sex(get["value"], where)
            elif name == "age":
                age = _age(get["value"], where)
            else:
                raise NeuroplastInputError(
                    "unknown covariate; known: weight, sex, age", field=f"{where} item", value=get["item"]
                )
        else:
            raise NeuroplastInputError(
                "unknown record type; use score, dose or covariate", field=f"{where} record", value=get["record"]
            )
    return _finish(obs, doses, weight, female, age, now, need_order=True, allow_high_dose=allow_high_dose)


# ---------------------------------------------------------------------------------------------- FHIR R4


def _codings(concept) -> list[dict]:
    if not isinstance(concept, dict):
        return []
    coding = concept.get("coding")
    return [c for c in coding if isinstance(c, dict)] if isinstance(coding, list) else []


def _names(concept) -> list[str]:
    out = [c.get(k) for c in _codings(concept) for k in ("code", "display")]
    if isinstance(concept, dict):
        out.append(concept.get("text"))
    return [str(x) for x in out if x]


def _fhir_time(res: dict, where: str) -> tuple[dt.datetime, dt.datetime | None]:
    if "effectiveDateTime" in res:
        return _time(res["effectiveDateTime"], where, "effectiveDateTime"), None
    period = res.get("effectivePeriod")
    if isinstance(period, dict) and period.get("start"):
        start = _time(period["start"], where, "effectivePeriod.start")
        end = _time(period["end"], where, "effectivePeriod.end") if period.get("end") else None
        if end is not None and end < start:
            raise NeuroplastInputError(
                "times out of order: effectivePeriod ends before it starts",
                field=f"{where} effectivePeriod.end",
                value=period["end"],
            )
        return start, end
    raise NeuroplastInputError("no effectiveDateTime or effectivePeriod.start", field=f"{where} effective")


def _from_fhir(text: str, now: dt.datetime, allow_high_dose: bool) -> PatientHistory:
    try:
        bundle = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NeuroplastInputError(
            f"malformed JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", field="Bundle"
        ) from None
    except ValueError:  # json's int() of a literal longer than Python's limit (4300 digits)
        raise NeuroplastInputError("malformed JSON: an integer too long to read", field="Bundle") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise NeuroplastInputError(
            'not a FHIR R4 Bundle (resourceType must be "Bundle")',
            field="resourceType",
            value=bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__,
        )
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        raise NeuroplastInputError("the Bundle has no entry list", field="Bundle.entry")
    obs, doses = [], []
    weight = female = age = None
    weight_time = None
    patients = 0
    for i, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            raise NeuroplastInputError("entry without a resource", field=f"entry[{i}]")
        rtype = res.get("resourceType")
        where = f"entry[{i}] ({rtype})"
        if res.get("status") in ("entered-in-error", "cancelled", "not-done"):
            continue
        if rtype == "Patient":
            patients += 1
            if patients > 1:
                raise NeuroplastInputError(
                    "more than one Patient in the Bundle: a history is one patient's", field=where
                )
            if "gender" not in res:
                raise NeuroplastInputError(
                    "Patient.gender is missing (female/male; sets ketamine clearance)", field=f"{where} gender"
                )
            female = _sex(res.get("gender"), where)
            if res.get("birthDate"):
                try:
                    born = dt.date.fromisoformat(str(res["birthDate"])[:10])
                except ValueError:
                    raise NeuroplastInputError(
                        "birthDate is not an ISO date", field=f"{where} birthDate", value=res["birthDate"]
                    ) from None
                age = _age((now.date() - born).days / 365.25, where)
        elif rtype == "Observation":
            codes = {(str(c.get("system")), str(c.get("code"))) for c in _codings(res.get("code"))}
            t, _ = _fhir_time(res, where)
            if (LOINC, LOINC_BODY_WEIGHT) in codes:
                q = res.get("valueQuantity")
                q = q if isinstance(q, dict) else {}
                w = _weight(q.get("value"), q.get("code") or q.get("unit") or "", where)
                if weight_time is None or t >= weight_time:
                    weight, weight_time = w, t
                continue
            instrument = next((LOINC_INSTRUMENTS[c] for s, c in codes if s == LOINC and c in LOINC_INSTRUMENTS), None)
            if instrument is None:
                names = _names(res.get("code"))
                keys = ["".join(ch for ch in n.upper() if ch.isalnum()) for n in names]
                instrument = next((_ALIASES[k] for k in keys if k in _ALIASES), None)
                if instrument is None:
                    raise NeuroplastInputError(
                        f"unknown instrument in Observation.code; known: LOINC 44261-6 (PHQ-9), "
                        f"{', '.join(INSTRUMENTS)}, LOINC 29463-7 (body weight)",
                        field=f"{where} code",
                        value=(names[0] if names else None),
                    )
            if "valueInteger" in res:
                value = res["valueInteger"]
            elif "valueQuantity" in res and isinstance(res["valueQuantity"], dict):
                value = res["valueQuantity"].get("value")
            elif "valueDecimal" in res:
                value = res["valueDecimal"]
            else:
                raise NeuroplastInputError("no score (valueInteger or valueQuantity.value)", field=f"{where} value")
            obs.append(Observation(t, instrument, _score(value, instrument, where), where))
        elif rtype == "MedicationAdministration":
            drug_names = _names(res.get("medicationCodeableConcept"))
            drug = drug_names[-1].strip().lower() if drug_names else ""
            known = [
                n.strip().lower()
                for n in drug_names
                if n.strip().lower() in ("ketamine", "esketamine", "arketamine", "midazolam", "saline")
            ]
            drug = known[0] if known else drug
            start, end = _fhir_time(res, where)
            dosage = res.get("dosage")
            dosage = dosage if isinstance(dosage, dict) else {}
            route_names = _names(dosage.get("route"))
            route = next(
                (_ROUTES[n.strip().lower()] for n in route_names if n.strip().lower() in _ROUTES),
                route_names[0].lower() if route_names else "iv",
            )
            dose = dosage.get("dose")
            if not isinstance(dose, dict) or dose.get("value") is None:
                raise NeuroplastInputError("no dose amount (dosage.dose.value)", field=f"{where} dosage.dose")
            unit = dose.get("code") or dose.get("unit")
            if not unit:
                raise NeuroplastInputError(
                    "dose without a unit (dosage.dose.unit, e.g. mg/kg or mg)",
                    field=f"{where} dosage.dose",
                    value=dose.get("value"),
                )
            amount = f"{dose['value']} {unit}"
            if end is None and route == "iv":
                raise NeuroplastInputError(
                    "an infusion needs effectivePeriod with start and end (its duration)",
                    field=f"{where} effectivePeriod",
                )
            duration = f"{(end - start).total_seconds() / 60.0:g} min" if end is not None else ""
            _dose_checks(drug, route, amount, duration, where, allow_high_dose)
            doses.append(DoseRecord(start, drug, route, amount, duration, where))
        else:
            continue  # other resources (Encounter, Practitioner, ...) carry nothing the forecast uses
    if patients == 0:
        raise NeuroplastInputError("no Patient resource (its gender is needed)", field="Bundle.entry")
    return _finish(obs, doses, weight, female, age, now, need_order=False, allow_high_dose=allow_high_dose)


__all__ = ["CSV_COLUMNS", "DoseRecord", "Observation", "PatientHistory", "read_history"]
