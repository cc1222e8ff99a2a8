"""Whole runs behind the CLI commands: run, then write every output atomically into a folder.

The CLI (and the web app later) only parse arguments and call these.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

from . import DISCLAIMER
from ._errors import NeuroplastInputError
from ._units import parse_quantity
from .catalog import ORAL_SPECIES
from .cohort import typical_patient
from .engine import Tsit5
from .io import atomic_output_dir, write_json, write_netcdf, write_parquet
from .report import simulation_figures, trial_figures, write_report
from .report.circuits import circuit_figure
from .scales.circuits import LABELS, healthy_circuit, mood_circuit
from .scales.pk.nca import nca
from .simulation import PopulationModel, default_model, simulate
from .trials import TrialResult, TrialSpec, load_spec, run_trial
from .trials.compare import published_points

DEMO_SPEC = Path(__file__).parent / "data" / "demo.toml"

NOTES = [
    DISCLAIMER,
    "Scores are simulated per virtual patient with rater noise; rates are fractions of the patients whose solve succeeded "
    "(failed patients are counted in n_failed, never averaged).",
    "Published points come from shared/evidence/clinical_calibration.yaml. 'fit' entries were used to calibrate the model; "
    "'holdout' entries were not, and test it out of sample.",
    "Contrasts: mean_difference is the first arm minus the second in change from baseline; Cohen's d is positive when the "
    "first arm improved more.",
]


def trial_to_dir(result: TrialResult, out: Path, *, published: list[dict] | None = None) -> None:
    """Write summary.json, patients.parquet, trajectories.nc, published.json, figures and report.html."""

    published = published_points(result) if published is None else published
    figs = trial_figures(result, published)
    with atomic_output_dir(out) as tmp:
        write_json(tmp / "summary.json", result.summary)
        write_parquet(tmp / "patients.parquet", result.patients)
        write_netcdf(tmp / "trajectories.nc", trial_dataset(result))
        write_json(tmp / "published.json", published)
        (tmp / "figures").mkdir()
        for name, png in figs.items():
            (tmp / "figures" / f"{name}.png").write_bytes(png)
        write_report(
            tmp / "report.html",
            title=result.spec.trial.title or result.spec.trial.id,
            summary=result.summary.to_json_dict(),
            figures=figs,
            published=published,
            notes=NOTES,
        )


def trial_dataset(result: TrialResult) -> xr.Dataset:
    """Every arm's per-patient trajectories (read-outs of every scale and observed scores)."""
    parts = []
    for name, arm in result.arms.items():
        ds = arm.simulation.to_xarray()
        ds = ds.drop_vars([v for v in ds.data_vars if v.startswith("state_")])
        ds["score"] = (("patient", "time_h"), arm.scores.astype(np.float32), {"scale": result.spec.trial.scale})
        if arm.dropout is not None:  # scores after leaving stay: what would have been rated (not observed)
            left = np.where(arm.dropout.left, arm.dropout.left_h, np.nan)
            ds["dropout_h"] = ("patient", left, {"units": "h", "description": "when the patient left; NaN: stayed"})
        ds = ds.assign_coords(arm=("patient", np.array([name] * ds.sizes["patient"], dtype=object)))
        parts.append(ds)
    ds = xr.concat(parts, dim="patient")
    ds = ds.assign_coords(patient=np.arange(ds.sizes["patient"]))
    ds["arm"] = ds["arm"].astype(str)
    ds.attrs.update(
        {
            "trial": result.spec.trial.id,
            "seed": result.summary.seed,
            "neuroplast_version": result.summary.neuroplast_version,
            "disclaimer": DISCLAIMER,
        }
    )
    return ds


def run_trial_to_dir(
    spec: TrialSpec,
    out,
    *,
    n_per_arm=None,
    seed=None,
    allow_high_dose=False,
    model: PopulationModel | None = None,
    progress: Callable[[int], None] | None = None,
) -> TrialResult:
    """Run a validated spec (``trials.load_spec``) and write every output into ``out``."""
    result = run_trial(
        spec, model=model, n_per_arm=n_per_arm, seed=seed, allow_high_dose=allow_high_dose, progress=progress
    )
    trial_to_dir(result, Path(out))
    return result


def demo(spec: TrialSpec, out, *, n_per_arm: int | None = None, progress=None) -> tuple[TrialResult, list[dict]]:
    """The flagship run (``spec`` = ``load_spec(DEMO_SPEC)``): ketamine vs saline in a trd cohort."""
    result = run_trial(spec, n_per_arm=n_per_arm, progress=progress)
    published = published_points(result)
    trial_to_dir(result, Path(out), published=published)
    return result, published


def simulate_protocol(
    path,
    out,
    *,
    arm: str | None = None,
    weight_kg: float = 70.0,
    age_y: float = 45.0,
    female: bool = False,
    baseline_madrs: float | None = None,
    allow_high_dose: bool = False,
    days: float | None = None,
):
    """One typical patient (every random effect at its median) under one arm of a protocol file."""

    spec = load_spec(path, allow_high_dose=allow_high_dose)
    regimens = spec.regimens(allow_high_dose=allow_high_dose)
    name = arm or next(iter(regimens))
    if name not in regimens:
        raise NeuroplastInputError(
            f"no such arm; arms: {', '.join(regimens)}", field="--arm", value=name, file=str(path)
        )
    model = default_model()
    cohort = typical_patient(
        model.values, weight_kg=weight_kg, female=female, age_y=age_y, baseline_madrs=baseline_madrs
    )
    regimen = regimens[name]
    end = days * 24.0 if days else max(max(h for _, h in spec.timepoints_h()), regimen.last_dose_h + 24.0 * 14)
    ts = np.unique(np.concatenate([np.arange(0.0, min(end, 48.0), 1 / 12), np.arange(0.0, end + 1e-9, 1.0)]))
    sim = simulate(model, regimen, cohort, saveat=ts, engine=Tsit5())
    figs = simulation_figures(sim)
    with atomic_output_dir(Path(out)) as tmp:
        ds = sim.to_xarray()
        ds.attrs.update({"protocol": str(path), "arm": name, "disclaimer": DISCLAIMER})
        write_netcdf(tmp / "trajectories.nc", ds)
        (tmp / "figures").mkdir()
        for k, png in figs.items():
            (tmp / "figures" / f"{k}.png").write_bytes(png)
        write_report(
            tmp / "report.html",
            title=f"{spec.trial.title or spec.trial.id} — arm '{name}', one typical patient",
            summary=None,
            figures=figs,
            published=[],
            notes=NOTES[:1],
        )
    return sim


PK_SPECIES = {
    "ketamine": "ketamine_plasma",
    "esketamine": "s_ketamine_plasma",
    "arketamine": "r_ketamine_plasma",
    "norketamine": "norketamine_plasma",
    "hnk": "hnk_plasma",
    "midazolam": "midazolam_plasma",
    **{s: f"{s}_plasma" for s in ORAL_SPECIES},
}
"""Species reported by ``neuroplast pk`` and the plasma read-out of each (racemic ketamine is
reported as the total and as its enantiomers, esketamine = (S), arketamine = (R))."""


def pk_summary(
    spec: TrialSpec, *, weight_kg: float = 70.0, female: bool = False, allow_high_dose: bool = False
) -> dict:
    """NCA of every species present for a typical patient under the first arm's regimen.

    Returns ``{species: {"cmax_ng_per_ml", "tmax_h", "auc_ng_h_per_ml", "terminal_half_life_h"}}``;
    times from the first dose; the curve is sampled every minute for 6 h after each dose, then
    every 15 min until 10 days after the last dose.
    """

    regimen = next(iter(spec.regimens(allow_high_dose=allow_high_dose).values()))
    model = default_model()
    cohort = typical_patient(model.values, weight_kg=weight_kg, female=female)
    end = regimen.last_dose_h + 240.0
    pts = [np.arange(0.0, end + 1e-9, 0.25)]
    pts += [e.time_h + np.arange(0.0, 6.0, 1.0 / 60.0) for e in regimen.events]
    ts = np.unique(np.round(np.concatenate(pts), 9))
    ts = ts[ts <= end]
    sim = simulate(model, regimen, cohort, saveat=ts, engine=Tsit5(rtol=1e-8, atol=1e-11))
    given = {d.drug for d in regimen.doses}
    out = {}
    for species, key in PK_SPECIES.items():
        if species == "ketamine" and "ketamine" not in given:
            continue  # total ketamine is reported for the racemate; a single enantiomer is reported by name
        c = sim.readouts[key][0]
        if c.max() <= 1e-6:
            continue
        r = nca(ts, c)
        out[species] = {
            "cmax_ng_per_ml": r["cmax"],
            "tmax_h": r["tmax_h"],
            "auc_ng_h_per_ml": r["auc"],
            "terminal_half_life_h": r["terminal_half_life_h"],
        }
    return out


def circuit_protocol(
    path,
    out,
    *,
    at: list[str],
    arm: str | None = None,
    weight_kg: float = 70.0,
    female: bool = False,
    allow_high_dose: bool = False,
    days: float | None = None,
) -> dict:
    """The mood circuit of one typical patient under one arm, at the snapshot times ``at`` ("0 d", "1 d", ...).

    Simulates like :func:`simulate_protocol` (same time span), evaluates the circuit rate model
    (:mod:`neuroplast.scales.circuits`) at each time and writes ``circuit.json`` and
    ``figures/circuit.png``. A time outside the simulation raises :class:`NeuroplastInputError` naming ``--at``.
    """

    if not at:
        raise NeuroplastInputError('give at least one snapshot time, e.g. --at "0 d" --at "1 d"', field="--at")
    hours = [parse_quantity(a, "time", field="--at") for a in at]
    spec = load_spec(path, allow_high_dose=allow_high_dose)
    regimens = spec.regimens(allow_high_dose=allow_high_dose)
    name = arm or next(iter(regimens))
    if name not in regimens:
        raise NeuroplastInputError(
            f"no such arm; arms: {', '.join(regimens)}", field="--arm", value=name, file=str(path)
        )
    regimen = regimens[name]
    end = days * 24.0 if days else max(max(h for _, h in spec.timepoints_h()), regimen.last_dose_h + 24.0 * 14)
    for a, h in zip(at, hours):
        if not 0.0 <= h <= end:
            raise NeuroplastInputError(
                f"snapshot time outside the simulation (0 to {end / 24.0:g} d)", field="--at", value=a
            )
    model = default_model()
    cohort = typical_patient(model.values, weight_kg=weight_kg, female=female)
    ts = np.unique(np.concatenate([np.arange(0.0, end + 1e-9, 1.0), np.asarray(hours)]))
    sim = simulate(model, regimen, cohort, saveat=ts, engine=Tsit5())
    state = mood_circuit(sim, hours, field="--at")
    healthy = healthy_circuit()
    regions = list(state.regions)
    fc, healthy_fc = state.fc, healthy.fc
    assert fc is not None and healthy_fc is not None  # both circuits are computed with their connectivity

    def act(vec):
        return {r: float(x) for r, x in zip(regions, vec)}

    snaps = []
    for k, (label, h) in enumerate(zip(at, hours)):
        snaps.append(
            {
                "time": label,
                "time_h": h,
                "prefrontal_factor": float(state.factors["prefrontal"][0, k]),
                "hippocampal_factor": float(state.factors["hippocampal"][0, k]),
                "activity": act(state.activity[0, k]),
                "activity_change": act(state.activity[0, k] - state.activity[0, 0]),
                "fc": fc[0, k].tolist(),
                "fc_change": (fc[0, k] - fc[0, 0]).tolist(),
            }
        )
    doc = {
        "protocol": str(path),
        "arm": name,
        "patient": "typical (every random effect at its median)",
        "neuroplast_version": __import__("neuroplast").__version__,
        "disclaimer": DISCLAIMER,
        "regions": regions,
        "labels": LABELS,
        "method": "region rate model tau dr/dt = -r + f(W r + I) + noise; couplings W scaled by the plasticity "
        "read-outs; activity = fixed point; fc = correlation of the stationary covariance of the linearised "
        "model (continuous Lyapunov equation, scipy.linalg.solve_continuous_lyapunov). Changes are against "
        "the first snapshot. See docs/circuits.md.",
        "healthy": {"activity": act(healthy.activity[0, 0]), "fc": healthy_fc[0, 0].tolist()},
        "snapshots": snaps,
    }
    png = circuit_figure(state, labels=list(at), healthy=healthy)
    with atomic_output_dir(Path(out)) as tmp:
        write_json(tmp / "circuit.json", doc)
        (tmp / "figures").mkdir()
        (tmp / "figures" / "circuit.png").write_bytes(png)
    return doc
