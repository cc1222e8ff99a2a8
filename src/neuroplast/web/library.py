"""What the web API reads from the library, in one place: options, examples, one-patient runs.

Nothing here is science: it validates with the library's own functions (``parse_spec``,
``build_regimen`` through ``TrialSpec.regimens``), calls ``simulate`` and arranges the
result for JSON. Drugs, routes, populations, therapies and read-outs are read from the library
at request time, so what a later release adds shows up in the pages without edits here.
"""

from __future__ import annotations

import functools
import math
import tomllib
from pathlib import Path

import numpy as np

from .. import DISCLAIMER, __version__, evidence
from .._errors import NeuroplastInputError, PatientStatus
from ..catalog import LEVELS, READOUTS
from ..cohort import PRESETS, typical_patient
from ..engine import Tsit5
from ..instruments import INSTRUMENTS
from ..parameters import all_parameters
from ..regimen import CEILINGS_MG_PER_KG, DRUGS, ROUTES, THERAPIES, Dose
from ..simulation import default_model, simulate
from ..trials import load_spec, parse_spec
from ..trials.spec import SCALES
from ..workflows import DEMO_SPEC

GROUPS = (*LEVELS.items(), ("other", "Other read-outs"))
"""Plot rows, in the chain's order: the catalogue's levels."""
HORIZONS_D = (2, 7, 14, 28, 56, 91, 182, 365)
"""Simulated horizons (days). A request is solved to the next horizon and cut at its own end:
the solver compiles once per horizon, so changing the number of days does not recompile."""
GRID_POINTS = 2048  # save times per run: fixed, so one compiled function serves every protocol


def group_of(name: str) -> str:
    """The plot row of a read-out: its level of the chain in the catalogue ("other" for one it does not list)."""
    readout = READOUTS.get(name)
    return readout.level if readout is not None else "other"


def readout_info() -> dict[str, dict]:
    """Every read-out the model declares (the catalogue): unit, label, plot group."""
    return {name: {"unit": r.unit, "label": r.label, "group": r.level} for name, r in READOUTS.items()}


def groups_for(names) -> list[dict]:
    """Plot rows in the chain's order, each with its members among ``names``."""
    names = list(names)
    out = []
    for key, title in GROUPS:
        members = [n for n in names if group_of(n) == key]
        if members:
            out.append({"key": key, "title": title, "readouts": members})
    return out


@functools.cache
def model():

    return default_model()


# --- shipped examples -----------------------------------------------------------------------


def example_files() -> dict[str, Path]:
    """Shipped trial files: the package's demo and, in a source checkout, ``examples/*.toml``."""

    out = {"demo": DEMO_SPEC}
    repo_examples = Path(__file__).resolve().parents[3] / "examples"
    if repo_examples.is_dir():
        out.update({p.stem: p for p in sorted(repo_examples.glob("*.toml"))})
    return out


@functools.cache
def examples() -> list[dict]:

    out = []
    for name, path in example_files().items():
        try:
            spec = load_spec(path)
        except NeuroplastInputError:  # an example the library no longer accepts is not offered
            continue
        out.append(
            {
                "name": name,
                "title": spec.trial.title or spec.trial.id,
                "n_per_arm": spec.trial.n_per_arm,
                "arms": [a.name for a in spec.arm],
                "scale": spec.trial.scale,
                "population": spec.trial.population,
            }
        )
    return out


def example_dose_defaults() -> dict[str, dict]:
    """For each drug, the first dose of the shipped examples that uses it (pre-fills the form)."""
    out: dict[str, dict] = {}
    for path in example_files().values():
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        for arm in data.get("arm", []):
            for d in arm.get("dose", []):
                drug = d.get("drug")
                if drug and drug not in out:
                    out[drug] = {k: d[k] for k in ("route", "amount", "duration") if k in d}
    return out


# --- options --------------------------------------------------------------------------------


def _therapy_kinds() -> list[str]:

    return list(THERAPIES)


@functools.cache
def therapy_support() -> dict:
    """Whether this build simulates adjunct therapy: asks ``parse_spec`` (no hard-coded answer)."""

    kinds = _therapy_kinds()
    data = _wrap(
        {
            "name": "probe",
            "dose": [{"drug": "saline", "amount": "0 mg", "duration": "40 min"}],
            "therapy": [{"kind": kinds[0], "start": "1 d", "every": "7 d", "count": 1}],
        },
        "trd",
    )
    try:
        parse_spec(data)
        return {"kinds": kinds, "modelled": True, "note": ""}
    except NeuroplastInputError as exc:
        return {"kinds": kinds, "modelled": False, "note": exc.message}


def options() -> dict:

    defaults = example_dose_defaults()
    drugs = []
    for d in DRUGS:
        routes = list(ROUTES.get(d, ()))
        drugs.append(
            {
                "name": d,
                "routes": routes,
                "default": defaults.get(d, {}),
                "ceilings_mg_per_kg": {r: CEILINGS_MG_PER_KG[(d, r)] for r in routes if (d, r) in CEILINGS_MG_PER_KG},
            }
        )
    info = readout_info()
    return {
        "version": __version__,
        "disclaimer": DISCLAIMER,
        "drugs": drugs,
        # the flagship population first (the explorer's default), then the others alphabetically
        "populations": [
            {"name": k, "description": p.description}
            for k, p in sorted(PRESETS.items(), key=lambda kv: (kv[0] != "trd", kv[0]))
        ],
        "therapy": therapy_support(),
        "scales": list(SCALES),
        "examples": examples(),
        "readouts": info,
        "groups": groups_for(info),
        "horizons_d": list(HORIZONS_D),
    }


# --- one patient ----------------------------------------------------------------------------


def _wrap(arm: dict, population: str) -> dict:
    """A one-arm trial document around ``arm`` so it is validated exactly like a trial TOML's arm (on the first
    scale that fits the population)."""

    scale = next((name for name, sc in INSTRUMENTS.items() if population in sc.populations), "MADRS")
    return {
        "trial": {"id": "explorer", "population": population, "scale": scale, "endpoints": {"timepoints": ["0 h"]}},
        "arm": [arm],
    }


def _rename(exc: NeuroplastInputError) -> NeuroplastInputError:
    """Field names of the wrapper document -> field names of the API request."""
    f = exc.field or ""
    if f.startswith("arm[0]"):
        exc.field = "protocol" + f[len("arm[0]") :]
    elif f == "trial.population":
        exc.field = "patient.population"
    exc.args = (exc.one_line(),)
    return exc


def save_grid(doses, end_h: float, n: int = GRID_POINTS) -> np.ndarray:
    """Exactly ``n`` save times on [0, end_h]: 5-min steps for 6 h after each dose start (peaks of
    concentration and safety read-outs), the rest spread evenly."""
    after_doses: list[np.ndarray] = []
    for d in doses[:24]:  # later doses of long schedules fall back to the even grid
        after_doses.append(d.time_h + np.arange(0.0, 6.0 + 1e-9, 5.0 / 60.0))
    fine = np.concatenate(after_doses) if after_doses else np.zeros(0)
    fine = np.unique(np.round(fine[(fine >= 0) & (fine <= end_h)], 9))
    k = max(n - fine.size, 2)
    for _ in range(8):
        grid = np.unique(np.concatenate([fine, np.linspace(0.0, end_h, k)]))
        if grid.size == n:
            return grid
        k += n - grid.size
    return np.linspace(0.0, end_h, n)  # pragma: no cover - the loop converges in one or two steps


def simulate_one(
    arm: dict, patient: dict, *, days: float | None, allow_high_dose: bool, max_days: float, max_doses: int
) -> dict:
    """One typical patient of ``patient['population']`` under ``arm`` (the trial TOML's arm shape).

    Returns every read-out on one time axis (hours from the first dose), with units, labels
    and plot groups. Raises :class:`NeuroplastInputError` with request field names.
    """

    try:
        spec = parse_spec(_wrap(arm, patient.get("population", "trd")), allow_high_dose=allow_high_dose)
        regimen = next(iter(spec.regimens(allow_high_dose=allow_high_dose).values()))
    except NeuroplastInputError as exc:
        raise _rename(exc) from None
    if len(regimen.events) > max_doses:
        raise NeuroplastInputError(
            f"{len(regimen.events)} doses are more than this server's limit of {max_doses}",
            field="protocol.dose",
            value=len(regimen.events),
        )
    if days is None:
        days = math.ceil(regimen.last_dose_h / 24.0) + 14.0
    if not 0 < days <= max_days:
        raise NeuroplastInputError(
            f"days must be above 0 and at most {max_days:g} (this server's limit)", field="days", value=days
        )
    horizon = next((h for h in HORIZONS_D if h >= days), days)
    ts = save_grid(regimen.events, horizon * 24.0)
    m = model()
    cohort = typical_patient(
        m.values,
        weight_kg=patient["weight_kg"],
        female=patient["female"],
        age_y=patient["age_y"],
        baseline_madrs=patient.get("baseline_madrs"),
        population=patient.get("population", "trd"),
    )
    sim = simulate(m, regimen, cohort, saveat=ts, engine=Tsit5())
    keep = ts <= days * 24.0 + 1e-9
    info = readout_info()
    readouts = {}
    for name, arr in sim.readouts.items():
        meta = info.get(name, {"unit": "", "label": name.replace("_", " "), "group": group_of(name)})
        readouts[name] = {**meta, "values": _floats(np.asarray(arr)[0, keep])}
    # one list of every dose and session, as the web page draws them (a session: its kind, route "session")
    doses = [
        {"time_h": e.time_h, "duration_h": e.duration_h, "drug": e.drug, "route": e.route, "amount": e.amount,
         "unit": e.unit}
        if isinstance(e, Dose)
        else {"time_h": e.time_h, "duration_h": e.duration_h, "drug": e.kind, "route": "session", "amount": 1.0,
              "unit": "session"}
        for e in regimen.events
    ]  # fmt: skip
    return {
        "times_h": _floats(ts[keep]),
        "readouts": readouts,
        "groups": groups_for(readouts),
        "status": PatientStatus(int(sim.status[0])).name,
        "doses": doses,
        "days": float(days),
        "patient": patient,
        "disclaimer": DISCLAIMER,
    }


def _floats(a) -> list:
    return [float(x) if math.isfinite(x) else None for x in np.asarray(a, dtype=float).tolist()]


# --- about ----------------------------------------------------------------------------------


def _cite(c) -> str:
    if isinstance(c, str):
        return c
    if isinstance(c, dict):
        return ". ".join(str(c[k]) for k in ("authors", "year", "title", "journal") if c.get(k))
    return ""


@functools.cache
def about() -> dict:

    studies = [
        {
            "id": s["id"],
            "citation": _cite(s.get("citation")),
            "url": s.get("source_url"),
            "verified": bool(s.get("verified")),
        }
        for s in evidence.clinical()["studies"]
    ]
    mech = [
        {
            "id": p["id"],
            "quantity": p.get("quantity", ""),
            "citation": _cite(p.get("source")),
            "url": p.get("source_url"),
            "verified": bool(p.get("verified")),
        }
        for p in evidence.mechanistic()["parameters"]
    ]
    extra = [
        {
            "id": s["id"],
            "quantity": s.get("quantity", ""),
            "citation": _cite(s.get("citation")),
            "url": s.get("source_url"),
            "verified": bool(s.get("verified")),
        }
        for s in evidence.extra()["sources"]
    ]
    params = all_parameters()
    return {
        "name": "neuroplast",
        "version": __version__,
        "disclaimer": DISCLAIMER,
        "summary": (
            "An evidence-calibrated, multi-scale simulator of neuroplasticity in depression and its treatment: "
            "dose, plasma and brain concentrations, NMDA-receptor block, glutamate surge, BDNF and mTORC1, "
            "dendritic spines, mood, rating scales and safety read-outs, for one patient, a virtual cohort "
            "or an in-silico trial set beside the published result."
        ),
        "scales": [{"key": k, "title": t} for k, t in GROUPS if k != "other"],
        "parameters": {"count": len(params), "assumptions": sum(1 for p in params if p.source == "assumption")},
        "clinical_studies": studies,
        "mechanistic_sources": mech + extra,
    }
