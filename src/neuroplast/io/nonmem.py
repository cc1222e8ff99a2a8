"""NONMEM-style event datasets: import (dosing records -> regimens -> predictions beside DV) and
export (a protocol arm or a simulated cohort -> dose records and simulated EVID=0 DV rows).

The dataset is a CSV with one header line (a leading ``#`` is allowed, as NONMEM's default
``IGNORE=#`` skips it); later lines starting with ``#`` are comments. Units and codes
(``docs/interop.md`` has the tables):

=======  ===========================================================================
ID       individual; records of one individual are contiguous
TIME     hours (NONMEM's relative time), >= 0, non-decreasing within an ID
AMT      dose in mg (absolute, not per kg); 0 on observation records
RATE     mg/h; 0 = bolus (a 1-min input, as neuroplast gives any bolus); -1/-2 refused
CMT      dose entry point = route: :data:`CMT_ROUTES` (1 iv, 2 im, 3 intranasal, 4 oral,
         5 sublingual); not used on observation records (export writes 0)
EVID     0 observation, 1 dose; 2/3/4 refused
DV       observed value in the analyte's unit (plasma: ng/mL); ``.`` = missing
=======  ===========================================================================

Optional columns: ``MDV``; ``DRUG`` (name or :data:`neuroplast.model.DRUG_CODES` number; default
ketamine); ``ROUTE`` (name; must agree with CMT); ``DVID`` (analyte: a read-out name or a
:data:`DVID_CODES` number; default the plasma concentration of the ID's first drug); covariates
``WT`` (kg, default 70), ``SEX`` (0/M male, 1/F female; default male), ``AGE`` (years, default
45), constant within an ID; ``ADDL``/``II`` (additional doses every II hours); ``SS`` (must be 0);
``ARM`` (arm index written by the export; carried through).
Any other column is carried through to the predictions unchanged and listed as ignored.

Every dose record goes through :func:`neuroplast.build_regimen`, so the trial-TOML rules hold:
dose ceilings (checked per kg of WT when WT is given, else per 70 kg as for absolute doses in
TOML; per record and for the sum of an ID's doses over any 24 h), routes per drug, at most
:data:`neuroplast.regimen.events.MAX_EVENTS` doses per ID and :data:`MAX_DATASET_DOSES` in the dataset (ADDL
included, checked before expanding), and intranasal esketamine as 28 mg devices 5 min apart. ``ID`` is a
positive whole number: records are grouped by its number (``1``, ``1.0`` and ``01`` are one ID, as in NONMEM).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import DISCLAIMER, __version__
from .._errors import NeuroplastInputError
from .._files import default_mode
from .._units import parse_number, parse_quantity
from ..catalog import DRUG_CODES, KETAMINE_FAMILY, READOUT_UNITS
from ..cohort import Cohort, sample_cohort, typical_patient
from ..engine import Tsit5
from ..regimen import Regimen, build_regimen
from ..regimen.events import BOLUS_H, MAX_EVENTS
from ..regimen.guardrails import check_window
from ..scales.pk import ROUTE_CODES
from ..simulation import default_model, simulate
from .outputs import atomic_output_dir, write_json

REQUIRED = ("ID", "TIME", "AMT", "RATE", "CMT", "EVID", "DV")
"""Columns every dataset must have."""

KNOWN_OPTIONAL = ("MDV", "DRUG", "ROUTE", "DVID", "WT", "SEX", "AGE", "ADDL", "II", "SS", "ARM")

CMT_ROUTES = {code + 1: route for route, code in ROUTE_CODES.items()}
"""CMT number of a dose record -> route (the compartment the dose enters: central for iv, the
route's absorption depot otherwise)."""

DVID_CODES = {
    1: "ketamine_plasma",
    2: "norketamine_plasma",
    3: "s_ketamine_plasma",
    4: "r_ketamine_plasma",
    5: "hnk_plasma",
    6: "midazolam_plasma",
    7: "escitalopram_plasma",
    8: "sertraline_plasma",
    9: "cadss",
    10: "sbp",
    11: "dbp",
    12: "heart_rate",
    13: "sedation",
    14: "duloxetine_plasma",
    15: "venlafaxine_plasma",
    16: "odv_plasma",
}
"""Numeric DVID -> read-out (NONMEM needs numbers); any read-out name is accepted as well."""

DEFAULT_WEIGHT_KG, DEFAULT_AGE_Y = 70.0, 45.0
DEFAULT_SAMPLING_H = (5 / 60, 10 / 60, 20 / 60, 40 / 60, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0)
"""Default export sampling times (h from the first dose), merged with the trial's endpoint times."""

_MISSING = ("", ".")
MAX_DATASET_DOSES = 2 * MAX_EVENTS
"""Most doses in one dataset, all IDs together (ADDL expanded; checked before expanding, as per ID)."""
HORIZON_STEP_H = 336.0


@dataclasses.dataclass(frozen=True)
class Observation:
    row: int  # line number in the file (header = line 1)
    time_h: float
    analyte: str  # read-out name
    dv: float | None


@dataclasses.dataclass(frozen=True)
class Individual:
    id: str
    regimen: Regimen
    weight_kg: float
    female: bool
    age_y: float
    observations: tuple[Observation, ...]


@dataclasses.dataclass(frozen=True)
class NonmemData:
    """A parsed, validated dataset: individuals in file order and the raw table (strings)."""

    file: str
    columns: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (line number, cells) of every data record
    individuals: tuple[Individual, ...]
    ignored_columns: tuple[str, ...]


def _analyte(value: str, *, file, row) -> str:
    v = value.strip()
    try:
        code = float(v)
    except ValueError:
        if v in READOUT_UNITS:
            return v
        raise NeuroplastInputError(
            f"unknown analyte; use a DVID number ({_codes(DVID_CODES)}) or a read-out name",
            field=f"row {row} DVID",
            value=value,
            file=file,
        ) from None
    if (
        not math.isfinite(code)
        or code != int(code)
        or int(code) not in DVID_CODES
        or DVID_CODES[int(code)] not in READOUT_UNITS
    ):
        raise NeuroplastInputError(
            f"unknown DVID; known: {_codes(DVID_CODES)}", field=f"row {row} DVID", value=value, file=file
        )
    return DVID_CODES[int(code)]


def _codes(table: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in table.items())


def default_analyte(drug: str | None) -> str:
    """The plasma read-out of a drug (the ketamine family: total ketamine)."""
    if drug is not None and f"{drug}_plasma" in READOUT_UNITS:
        return f"{drug}_plasma"
    return "ketamine_plasma"


class _Reader:
    def __init__(self, file: str, header: tuple[str, ...]):
        self.file = file
        self.col = {c: i for i, c in enumerate(header)}

    def has(self, name):
        return name in self.col

    def text(self, cells, name):
        return cells[self.col[name]].strip() if name in self.col else ""

    def num(self, cells, name, row, *, default=None, required=False):
        s = self.text(cells, name)
        if s in _MISSING:
            if required:
                raise NeuroplastInputError("missing value", field=f"row {row} {name}", value=s, file=self.file)
            return default
        try:
            return parse_number(s, field=f"row {row} {name}")
        except NeuroplastInputError as exc:
            raise exc.with_file(self.file) from None

    def integer(self, cells, name, row, *, default=None, required=False):
        x = self.num(cells, name, row, default=default, required=required)
        if x is not None and x != int(x):
            raise NeuroplastInputError(
                "must be a whole number", field=f"row {row} {name}", value=self.text(cells, name), file=self.file
            )
        return None if x is None else int(x)


_BUILD_FIELDS = {
    "amount": "AMT",
    "duration": "RATE",
    "drug": "DRUG",
    "route": "CMT",
    "at": "TIME",
    "start": "TIME",
    "every": "II",
    "count": "ADDL",
}


def read_nonmem(path: str | Path, *, allow_high_dose: bool = False) -> NonmemData:
    """Read and validate a NONMEM-style dataset; every error names the file, row, column and value."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise NeuroplastInputError(
            f"cannot read the file ({getattr(exc, 'strerror', None) or exc})", file=file
        ) from None
    reader = csv.reader(text.splitlines())
    try:
        lines = [(i + 1, cells) for i, cells in enumerate(reader) if any(c.strip() for c in cells)]
    except csv.Error as exc:  # a field over the csv module's limit (128 kB)
        raise NeuroplastInputError(f"malformed CSV ({exc})", field=f"row {reader.line_num}", file=file) from None
    if not lines:
        raise NeuroplastInputError("the dataset is empty (expected a header line)", file=file)
    _, header = lines[0]
    header = [h.strip().upper() for h in header]
    if header and header[0].startswith("#"):
        header[0] = header[0].lstrip("#").strip()
    for j, h in enumerate(header):
        if not h:
            raise NeuroplastInputError("empty column name in the header", field=f"column {j + 1}", file=file)
        if header.index(h) != j:
            raise NeuroplastInputError("duplicate column", field=h if h.isprintable() else repr(h), file=file)
    for name in REQUIRED:
        if name not in header:
            raise NeuroplastInputError(f"missing column; a dataset needs {', '.join(REQUIRED)}", field=name, file=file)
    rd = _Reader(file, tuple(header))
    records: list[tuple[int, tuple[str, ...]]] = []
    for row, line in lines[1:]:
        if line[0].lstrip().startswith("#"):
            continue
        if len(line) != len(header):
            raise NeuroplastInputError(
                f"expected {len(header)} values as in the header, found {len(line)}", field=f"row {row}", file=file
            )
        records.append((row, tuple(line)))
    if not records:
        raise NeuroplastInputError("the dataset has no records", file=file)

    by_id: dict[int, list] = {}  # by the ID's number: "1", "1.0" and "01" are one individual, as in NONMEM
    last_id = None
    for row, cells in records:
        pid = rd.text(cells, "ID")
        if pid in _MISSING:
            raise NeuroplastInputError("missing ID", field=f"row {row} ID", value=pid, file=file)
        key = rd.integer(cells, "ID", row) or 0
        if key < 1:
            raise NeuroplastInputError(
                "ID must be a positive whole number", field=f"row {row} ID", value=pid, file=file
            )
        if key != last_id and key in by_id:
            raise NeuroplastInputError(
                "records of one ID must be contiguous (this ID appeared before another ID)",
                field=f"row {row} ID",
                value=pid,
                file=file,
            )
        by_id.setdefault(key, []).append((row, cells))
        last_id = key
    _bound_dataset(rd, records)
    individuals = tuple(_individual(rd, str(key), recs, allow_high_dose) for key, recs in by_id.items())
    ignored = tuple(h for h in header if h not in REQUIRED and h not in KNOWN_OPTIONAL)
    return NonmemData(file, tuple(header), tuple(records), individuals, ignored)


def _bound_dataset(rd: _Reader, records) -> None:
    """At most :data:`MAX_DATASET_DOSES` doses in the dataset, counted before any is expanded (20 IDs of ADDL=19999,
    a 600-byte file, took 9 s and 400,000 doses). A record whose EVID or ADDL cannot be read, or whose ADDL alone is
    above the bound of one ID, is left to the record's own error."""
    total = 0
    for row, cells in records:
        try:
            if rd.integer(cells, "EVID", row) != 1:
                continue
            total += min(max(rd.integer(cells, "ADDL", row, default=0), 0), MAX_EVENTS) + 1
        except NeuroplastInputError:
            continue
        if total > MAX_DATASET_DOSES:
            raise NeuroplastInputError(
                f"more than {MAX_DATASET_DOSES} doses in the dataset (all IDs together, ADDL included); give fewer "
                "additional doses",
                field=f"row {row} ADDL",
                value=rd.text(cells, "ADDL") or None,
                file=rd.file,
            )


def _individual(rd: _Reader, pid: str, recs, allow_high_dose: bool) -> Individual:
    file = rd.file
    cov = {}
    for name, default in (("WT", DEFAULT_WEIGHT_KG), ("SEX", None), ("AGE", DEFAULT_AGE_Y)):
        seen = None  # (row, text, value) of the first record that gives it
        for row, cells in recs:
            s = rd.text(cells, name)
            if s in _MISSING:
                continue
            value = _sex(s, row, file) if name == "SEX" else rd.num(cells, name, row)
            if seen is None:
                seen = (row, s, value)
            elif value != seen[2]:
                raise NeuroplastInputError(
                    f"time-varying covariates are not supported ({name} was {seen[1]} on row {seen[0]})",
                    field=f"row {row} {name}",
                    value=s,
                    file=file,
                )
        cov[name] = (seen, default)
    weight = _covariate_num(rd, cov["WT"], "WT", 20.0, 250.0)
    age = _covariate_num(rd, cov["AGE"], "AGE", 0.0, 120.0)
    female = False if cov["SEX"][0] is None else cov["SEX"][0][2]

    doses: list = []
    obs: list = []
    first_drug = None
    checked: list = []  # (dose as checked against its ceiling, field): the 24-h sum
    amt_text: dict[str, str] = {}  # field -> the AMT as written
    t_prev = None
    for row, cells in recs:
        t = rd.num(cells, "TIME", row, required=True)
        if t < 0:
            raise NeuroplastInputError(
                "TIME must not be negative", field=f"row {row} TIME", value=rd.text(cells, "TIME"), file=file
            )
        if t_prev is not None and t < t_prev:
            raise NeuroplastInputError(
                f"TIME decreases within ID {pid} (previous record at {t_prev:g} h); sort each ID's records by time",
                field=f"row {row} TIME",
                value=rd.text(cells, "TIME"),
                file=file,
            )
        t_prev = t
        evid = rd.integer(cells, "EVID", row, required=True)
        if evid in (2, 3, 4):
            what = {2: "other-type events", 3: "reset events", 4: "reset-and-dose events"}[evid]
            raise NeuroplastInputError(
                f"EVID={evid} ({what}) is not supported; use 0 (observation) or 1 (dose)",
                field=f"row {row} EVID",
                value=rd.text(cells, "EVID"),
                file=file,
            )
        if evid not in (0, 1):
            raise NeuroplastInputError(
                "EVID must be 0 (observation) or 1 (dose)",
                field=f"row {row} EVID",
                value=rd.text(cells, "EVID"),
                file=file,
            )
        if evid == 1:
            wt = weight if cov["WT"][0] is not None else None
            d, as_checked, drug = _dose(rd, row, cells, t, wt, allow_high_dose, len(doses))
            doses.extend(d)
            checked.extend((x, f"row {row} AMT") for x in as_checked)
            amt_text[f"row {row} AMT"] = rd.text(cells, "AMT")
            if first_drug is None and drug != "saline":
                first_drug = drug
        else:
            amt = rd.num(cells, "AMT", row, default=0.0)
            if amt != 0:
                raise NeuroplastInputError(
                    "an observation record (EVID=0) must have AMT 0 or '.'",
                    field=f"row {row} AMT",
                    value=rd.text(cells, "AMT"),
                    file=file,
                )
            mdv = rd.integer(cells, "MDV", row, default=0)
            if mdv not in (0, 1):
                raise NeuroplastInputError(
                    "MDV must be 0 or 1", field=f"row {row} MDV", value=rd.text(cells, "MDV"), file=file
                )
            dv = rd.num(cells, "DV", row)
            analyte = (
                _analyte(rd.text(cells, "DVID"), file=file, row=row) if rd.text(cells, "DVID") not in _MISSING else None
            )
            obs.append((row, t, analyte, None if mdv == 1 else dv))
    try:
        check_window(checked, allow_high_dose=allow_high_dose)
    except NeuroplastInputError as exc:
        raise type(exc)(exc.message, field=exc.field, value=amt_text.get(exc.field or ""), file=file) from None
    fallback = default_analyte(first_drug)
    observations = tuple(Observation(r, t, a or fallback, dv) for r, t, a, dv in obs)
    return Individual(pid, Regimen(tuple(doses)), weight, female, age, observations)


def _sex(text: str, row: int, file: str) -> bool:
    key = text.strip().upper()
    if key in ("0", "0.0", "M", "MALE"):
        return False
    if key in ("1", "1.0", "F", "FEMALE"):
        return True
    raise NeuroplastInputError(
        "SEX must be 0 or M (male), 1 or F (female)", field=f"row {row} SEX", value=text, file=file
    )


def _covariate_num(rd, cov, name, lo, hi):
    seen, default = cov
    if seen is None:
        return default
    row, s, x = seen
    if not lo <= x <= hi:
        raise NeuroplastInputError(
            f"{name} must be between {lo:g} and {hi:g}", field=f"row {row} {name}", value=s, file=rd.file
        )
    return x


def _dose(rd: _Reader, row: int, cells, t: float, weight_kg: float | None, allow_high_dose: bool, so_far: int):
    """The Dose events of one EVID=1 record (more than one for ADDL or esketamine devices), the same as checked
    against the ceilings (per kg of WT where WT is given), and the drug. ``so_far``: the ID's doses before it."""
    file = rd.file
    amt = rd.num(cells, "AMT", row, required=True)
    if amt < 0:
        raise NeuroplastInputError(
            "AMT (mg) must not be negative", field=f"row {row} AMT", value=rd.text(cells, "AMT"), file=file
        )
    rate = rd.num(cells, "RATE", row, default=0.0)
    if rate in (-1.0, -2.0):
        what = "rate" if rate == -1 else "duration"
        raise NeuroplastInputError(
            f"RATE={rate:g} (infusion {what} modelled in $PK) is not supported; give RATE in mg/h (0 for a bolus)",
            field=f"row {row} RATE",
            value=rd.text(cells, "RATE"),
            file=file,
        )
    if rate < 0:
        raise NeuroplastInputError(
            "RATE (mg/h) must not be negative", field=f"row {row} RATE", value=rd.text(cells, "RATE"), file=file
        )
    cmt = rd.integer(cells, "CMT", row, required=True)
    if cmt not in CMT_ROUTES:
        raise NeuroplastInputError(
            f"unknown dose compartment; CMT is the route: {_codes(CMT_ROUTES)}",
            field=f"row {row} CMT",
            value=rd.text(cells, "CMT"),
            file=file,
        )
    route = CMT_ROUTES[cmt]
    named = rd.text(cells, "ROUTE").lower()
    if named not in _MISSING and named != route:
        raise NeuroplastInputError(
            f"ROUTE disagrees with CMT {cmt} ({route})",
            field=f"row {row} ROUTE",
            value=rd.text(cells, "ROUTE"),
            file=file,
        )
    drug = _drug(rd.text(cells, "DRUG"), row, file)
    if amt == 0 and drug != "saline":
        raise NeuroplastInputError(
            "a dose record (EVID=1) needs AMT > 0 (mg)", field=f"row {row} AMT", value=rd.text(cells, "AMT"), file=file
        )
    ss = rd.integer(cells, "SS", row, default=0)
    if ss != 0:
        raise NeuroplastInputError(
            "steady-state dosing (SS) is not supported; give the doses with ADDL/II",
            field=f"row {row} SS",
            value=rd.text(cells, "SS"),
            file=file,
        )
    addl = rd.integer(cells, "ADDL", row, default=0)
    if addl < 0:
        raise NeuroplastInputError(
            "ADDL must not be negative", field=f"row {row} ADDL", value=rd.text(cells, "ADDL"), file=file
        )
    if so_far + addl + 1 > MAX_EVENTS:
        raise NeuroplastInputError(
            f"more than {MAX_EVENTS} doses for one ID; give fewer additional doses",
            field=f"row {row} ADDL",
            value=rd.text(cells, "ADDL"),
            file=file,
        )
    ii = rd.num(cells, "II", row, default=0.0)
    if addl > 0 and ii <= 0:
        raise NeuroplastInputError(
            "ADDL > 0 needs a positive II (hours)", field=f"row {row} II", value=rd.text(cells, "II"), file=file
        )
    devices = drug == "esketamine" and route == "intranasal"
    per_kg = weight_kg is not None and not devices and drug != "saline"
    d: dict[str, Any] = {
        "drug": drug,
        "route": route,
        "amount": f"{amt / weight_kg!r} mg/kg" if per_kg else f"{amt!r} mg",
    }
    if addl > 0:
        d.update(start=f"{t!r} h", every=f"{ii!r} h", count=addl + 1)
    else:
        d["at"] = [f"{t!r} h"]
    if rate > 0:
        d["duration"] = f"{amt / rate!r} h"
    elif route == "iv":
        d["duration"] = f"{BOLUS_H!r} h"
    try:
        regimen = build_regimen([d], field="dose", allow_high_dose=allow_high_dose)
    except NeuroplastInputError as exc:
        key = (exc.field or "").rsplit(".", 1)[-1].split("[")[0]
        col = _BUILD_FIELDS.get(key, "AMT")
        shown = rd.text(cells, col) if col in rd.col else exc.value
        raise type(exc)(exc.message, field=f"row {row} {col}", value=shown, file=file) from None
    doses = regimen.doses
    if per_kg:  # the record's exact mg (the per-kg form was only for the ceiling check)
        doses = tuple(dataclasses.replace(x, amount=amt, unit="mg") for x in doses)
    return doses, regimen.doses, drug


def _drug(text: str, row: int, file: str) -> str:
    if text in _MISSING:
        return "ketamine"
    try:
        code = float(text)
    except ValueError:
        if text.lower() in DRUG_CODES:
            return text.lower()
        raise NeuroplastInputError(
            f"unknown drug; known: {', '.join(DRUG_CODES)}", field=f"row {row} DRUG", value=text, file=file
        ) from None
    names = {v: k for k, v in DRUG_CODES.items()}
    if not math.isfinite(code) or code != int(code) or int(code) not in names:
        raise NeuroplastInputError(
            f"unknown DRUG code; known: {_codes(names)}", field=f"row {row} DRUG", value=text, file=file
        )
    return names[int(code)]


# --- predictions -----------------------------------------------------------------------------------------


def predict(data: NonmemData, *, model=None, engine=None) -> tuple[pd.DataFrame, dict]:
    """Simulate every individual and put predictions beside DV.

    ``PRED``: the ID's covariates (WT, SEX, AGE) with every random effect at its median
    (NONMEM's population prediction; neuroplast does not estimate individual random effects,
    so there is no IPRED). ``PRED_REF``: the reference typical patient (70 kg man, 45 y) under the
    same doses, to show what the covariates change. ``RES`` = DV - PRED. Returns the table (the
    input columns as read, plus ANALYTE, UNIT, PRED, PRED_REF, RES; ``.`` where empty) and a summary.
    """

    model = default_model() if model is None else model
    engine = Tsit5() if engine is None else engine
    pred: dict[int, tuple[str, float, float]] = {}
    # Every ID is solved to the same end time, rounded up to whole fortnights: the compiled solver
    # is specialised on it, so one compilation serves the whole dataset (and most datasets);
    # simulating a little longer costs far less than compiling again.
    last = max((o.time_h for ind in data.individuals for o in ind.observations), default=0.0)
    horizon = HORIZON_STEP_H * max(1, math.ceil(last / HORIZON_STEP_H))
    for ind in data.individuals:
        if not ind.observations:
            continue
        ts = np.unique(np.array([0.0, horizon] + [o.time_h for o in ind.observations]))
        pats = [
            typical_patient(model.values, weight_kg=ind.weight_kg, female=ind.female, age_y=ind.age_y),
            typical_patient(model.values),
        ]
        cohort = Cohort(
            pats[0].population, pd.concat([p.table for p in pats], ignore_index=True).assign(patient=[0, 1])
        )
        sim = simulate(model, ind.regimen, cohort, saveat=ts, engine=engine)
        if not np.all(sim.ok):
            raise NeuroplastInputError(
                "the simulation failed for this individual (solver failure)", field="ID", value=ind.id, file=data.file
            )
        for o in ind.observations:
            k = int(np.searchsorted(ts, o.time_h))
            ro = sim.readouts[o.analyte]
            pred[o.row] = (o.analyte, float(ro[0, k]), float(ro[1, k]))
    out = []
    for row, cells in data.rows:
        rec: dict[str, Any] = dict(zip(data.columns, cells))
        if row in pred:
            analyte, p, pr = pred[row]
            rec.update(ANALYTE=analyte, UNIT=READOUT_UNITS.get(analyte, ""), PRED=p, PRED_REF=pr)
        else:
            rec.update(ANALYTE=".", UNIT=".", PRED=np.nan, PRED_REF=np.nan)
        out.append(rec)
    table = pd.DataFrame(out, columns=[*data.columns, "ANALYTE", "UNIT", "PRED", "PRED_REF"])
    dv = pd.to_numeric(table["DV"].where(table["ANALYTE"] != "."), errors="coerce")
    if "MDV" in table:
        dv = dv.where(pd.to_numeric(table["MDV"], errors="coerce").fillna(0) == 0)
    table["RES"] = dv - table["PRED"]
    return table, _summary(data, table, dv)


def _summary(data: NonmemData, table: pd.DataFrame, dv: pd.Series) -> dict:

    analytes = {}
    for analyte, g in table[table["ANALYTE"] != "."].groupby("ANALYTE", sort=False):
        d = dv.loc[g.index]
        have = d.notna()
        res = (d - g["PRED"])[have]
        pos = have & (g["PRED"] > 0) & (d > 0)
        ratio = d[pos] / g["PRED"][pos]
        analytes[analyte] = {
            "unit": READOUT_UNITS.get(analyte, ""),
            "n_records": len(g),
            "n_observed": int(have.sum()),
            "mean_residual": float(res.mean()) if len(res) else None,
            "rmse": float(np.sqrt(np.mean(res**2))) if len(res) else None,
            "median_dv_over_pred": float(ratio.median()) if len(ratio) else None,
        }
    return {
        "dataset": data.file,
        "neuroplast_version": __version__,
        "n_individuals": len(data.individuals),
        "n_records": len(data.rows),
        "ignored_columns": list(data.ignored_columns),
        "analytes": analytes,
        "columns": {
            "PRED": "covariate patient (WT, SEX, AGE), random effects at their median",
            "PRED_REF": "reference typical patient (70 kg man, 45 y), same doses",
            "RES": "DV - PRED",
        },
        "disclaimer": DISCLAIMER,
    }


def nonmem_to_dir(path, out, *, allow_high_dose: bool = False, model=None) -> tuple[pd.DataFrame, dict]:
    """Read a dataset, predict, and write ``predictions.csv`` and ``summary.json`` into ``out`` atomically."""

    data = read_nonmem(path, allow_high_dose=allow_high_dose)
    table, summary = predict(data, model=model)
    with atomic_output_dir(Path(out)) as tmp:
        _write_csv(table, tmp / "predictions.csv")
        write_json(tmp / "summary.json", summary)
    return table, summary


# --- export ---------------------------------------------------------------------------------------------

EXPORT_COLUMNS = ("ID", "TIME", "AMT", "RATE", "CMT", "EVID", "MDV", "DV", "DVID", "DRUG", "WT", "SEX", "AGE", "ARM")


def parse_times(text: str, *, field: str = "--times") -> list[float]:
    """``"10 min, 40 min, 2 h, 1 d"`` -> hours (sorted, unique, >= 0)."""

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise NeuroplastInputError('give at least one time, e.g. "10 min, 2 h, 1 d"', field=field, value=text)
    out = []
    for p in parts:
        t = parse_quantity(p, "time", field=field)
        if t < 0:
            raise NeuroplastInputError("a sampling time must not be before 0", field=field, value=p)
        out.append(t)
    return sorted(set(out))


def parse_analytes(text: str, *, field: str = "--analytes") -> list[str]:
    """Comma-separated read-out names or DVID numbers."""
    out = []
    for p in (p.strip() for p in text.split(",")):
        if not p:
            continue
        if p.isdigit() and int(p) in DVID_CODES:
            out.append(DVID_CODES[int(p)])
        elif p in READOUT_UNITS:
            out.append(p)
        else:
            raise NeuroplastInputError(
                f"unknown analyte; use a read-out name or a DVID number ({_codes(DVID_CODES)})", field=field, value=p
            )
    if not out:
        raise NeuroplastInputError("give at least one analyte", field=field, value=text)
    return list(dict.fromkeys(out))


def _dvid(analyte: str):
    codes = {v: k for k, v in DVID_CODES.items()}
    return codes.get(analyte, analyte)  # a read-out without a number is written by name


def export_nonmem(
    spec,
    *,
    arms: list[str] | None = None,
    n_patients: int = 0,
    seed: int | None = None,
    times_h: list[float] | None = None,
    analytes: list[str] | None = None,
    error_cv: float = 0.0,
    allow_high_dose: bool = False,
    model=None,
) -> pd.DataFrame:
    """A NONMEM dataset of a validated protocol (:func:`neuroplast.trials.load_spec`).

    Each arm is given to the typical patient (``n_patients = 0``, one ID per arm) or to
    ``n_patients`` virtual patients drawn from the trial's population and inclusion criteria
    (the trial's streams: seed and arm name, as ``neuroplast trial`` draws them). Dose records carry AMT in mg for the patient's weight and RATE in
    mg/h (0 for a non-IV bolus); EVID=0 records carry the simulated read-outs at ``times_h`` (h from
    the arm's first dose) as DV, exact unless ``error_cv`` > 0 adds log-normal proportional error.
    ``analytes`` default to the plasma concentration of each drug of the arm (ketamine family:
    ketamine and norketamine). ARM is the 1-based arm index in protocol order.
    """

    if not 0 <= n_patients <= 100_000:
        raise NeuroplastInputError(
            "the number of patients must be between 0 and 100000", field="--patients", value=n_patients
        )
    if not (math.isfinite(error_cv) and 0 <= error_cv <= 2):
        raise NeuroplastInputError("the residual error CV must be between 0 and 2", field="--error-cv", value=error_cv)
    model = default_model() if model is None else model
    seed = spec.trial.seed if seed is None else seed
    regimens = spec.regimens(allow_high_dose=allow_high_dose)
    names = list(regimens)
    for a in arms or []:
        if a not in regimens:
            raise NeuroplastInputError(f"no such arm; arms: {', '.join(regimens)}", field="--arm", value=a)
    chosen = arms or names
    if times_h is None:
        times_h = sorted(set(DEFAULT_SAMPLING_H) | {t for _, t in spec.timepoints_h()})
    rng = np.random.default_rng(seed)
    sigma = math.sqrt(math.log1p(error_cv**2))
    rows: list[dict[str, Any]] = []
    next_id = 1
    for name in chosen:
        i_arm = names.index(name)
        regimen = regimens[name]
        if n_patients == 0:
            cohort = typical_patient(model.values)
        else:
            cohort = sample_cohort(
                model.values,
                model.cvs,
                spec.trial.population,
                n_patients,
                seed=seed,
                arm=name,
                inclusion=spec.inclusion(),
                scale=spec.trial.scale,
            )
        drugs = list(dict.fromkeys(d.drug for d in regimen.doses if d.drug != "saline"))
        arm_analytes = (
            analytes
            if analytes is not None
            else list(
                dict.fromkeys(
                    a
                    for d in drugs
                    for a in (
                        [default_analyte(d), "norketamine_plasma"] if d in KETAMINE_FAMILY else [default_analyte(d)]
                    )
                )
            )
        )
        ts = np.asarray(times_h, dtype=float)
        sim = simulate(model, regimen, cohort, saveat=ts, engine=Tsit5()) if arm_analytes else None
        tab = cohort.table
        for p in range(len(cohort)):
            wt, female, age = float(tab["weight_kg"].iloc[p]), bool(tab["female"].iloc[p]), float(tab["age_y"].iloc[p])
            cov = {"WT": wt, "SEX": int(female), "AGE": age, "ARM": i_arm + 1, "ID": next_id}
            recs = []
            for d in regimen.doses:
                amt = float(d.amount_mg(np.asarray(wt)))
                bolus = d.route != "iv" and abs(d.duration_h - BOLUS_H) < 1e-12
                recs.append(
                    (
                        d.time_h,
                        0,
                        {
                            "AMT": amt,
                            "RATE": 0.0 if bolus else amt / d.duration_h,
                            "CMT": ROUTE_CODES[d.route] + 1,
                            "EVID": 1,
                            "MDV": 1,
                            "DV": ".",
                            "DVID": ".",
                            "DRUG": DRUG_CODES[d.drug],
                        },
                    )
                )
            if sim is not None and sim.status[p] == 0:
                for analyte in arm_analytes:
                    dv = sim.readouts[analyte][p]
                    if error_cv > 0:
                        dv = dv * np.exp(rng.normal(-0.5 * sigma**2, sigma, dv.shape))
                    for t, v in zip(ts, dv):
                        recs.append(
                            (
                                float(t),
                                1,
                                {
                                    "AMT": 0.0,
                                    "RATE": 0.0,
                                    "CMT": 0,
                                    "EVID": 0,
                                    "MDV": 0,
                                    "DV": float(v),
                                    "DVID": _dvid(analyte),
                                    "DRUG": ".",
                                },
                            )
                        )
            recs.sort(key=lambda r: (r[0], r[1]))  # by time; at equal times the dose first
            rows.extend({"TIME": t, **cov, **r} for t, _, r in recs)
            next_id += 1
    return pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))


def _fmt(x) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return str(int(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if not math.isfinite(x):
        return "."
    return str(int(x)) if x == int(x) and abs(x) < 1e15 else repr(x)  # shortest exact decimal


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(df.columns)
        for rec in df.itertuples(index=False):
            w.writerow([_fmt(v) for v in rec])


def write_nonmem(df: pd.DataFrame, path: str | Path) -> None:
    """Write a dataset atomically (a temporary file beside ``path``, renamed when complete)."""
    path = Path(path)
    if path.is_dir():
        raise NeuroplastInputError(
            "--out is a folder; give a file name such as data.csv", field="--out", value=str(path)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    try:
        _write_csv(df, Path(tmp))
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


__all__ = [
    "CMT_ROUTES",
    "DVID_CODES",
    "REQUIRED",
    "Individual",
    "NonmemData",
    "Observation",
    "default_analyte",
    "export_nonmem",
    "nonmem_to_dir",
    "parse_analytes",
    "parse_times",
    "predict",
    "read_nonmem",
    "write_nonmem",
]
