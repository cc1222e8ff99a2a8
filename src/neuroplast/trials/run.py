"""Run an in-silico trial: sample each arm's cohort, simulate, score, summarise (summary.json: docs/outputs.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from .. import __version__
from .._errors import PatientStatus
from ..catalog import CLINIC_DRUGS
from ..cohort import dropout_draws, rating_noise, sample_cohort
from ..conditions.safety import extra_safety
from ..engine import Engine, Tsit5
from ..instruments import INSTRUMENTS as SCALES
from ..simulation import PopulationModel, Simulation, default_model, simulate
from . import bp_readings, contributions, stats
from .contrasts import ArmScores, n_analysed, pair_contrasts
from .design import resolve_method
from .dropout import Dropout, adverse_severity, draw_dropout, lack_of_efficacy, nobody_leaves, reason_counts
from .spec import TrialSpec
from .summary import (
    ArmSummary,
    Baseline,
    BrainSummary,
    DropoutSummary,
    RelapseSummary,
    SafetySummary,
    TimepointSummary,
    TrialSummary,
)
from .withdrawal import Enrolment, enrol, summarise

SBP_ALERTS = (160.0, 180.0)  # mmHg: common stop/alert thresholds during ketamine infusions (I03 label uses 180)
BP_RISES = (40.0, 25.0)  # mmHg: the esketamine label's systolic / diastolic rises (spravato_label_bp_increase)
DISCHARGE = {"cadss_below": 4.0, "sbp_below": 160.0, "sbp_rise_below": 20.0, "sedation_below": 0.25}
"""Discharge criteria (assumption: dissociation resolved, BP below the alert and near baseline, not sedated;
no consensus thresholds were found), checked from the end of a minimum observation: 2 h after
intranasal esketamine (spravato_label_monitoring_2h), 30 min after other doses (assumption)."""


@dataclasses.dataclass(frozen=True)
class ArmResult:
    name: str
    simulation: Simulation
    scores: np.ndarray  # (n, T) rated on the primary scale at every saved time, had the patient stayed
    baseline: np.ndarray  # (n,)
    dropout: Dropout | None = None  # None: nobody leaves

    def observed(self, times_h) -> np.ndarray:
        """(n, len(times_h)): whether each patient is observed at each time (every one without dropout)."""
        if self.dropout is None:
            return np.ones((len(self.baseline), len(times_h)), bool)
        return self.dropout.observed(times_h)


@dataclasses.dataclass(frozen=True)
class TrialResult:
    spec: TrialSpec
    summary: TrialSummary  # summary.json (trials.summary documents every key)
    patients: pd.DataFrame
    arms: dict[str, ArmResult]
    times_h: np.ndarray


def save_grid(spec: TrialSpec, regimens) -> np.ndarray:
    """Save times (h): every timepoint, a fine grid around each clinic dose (safety peaks), every 6 h for
    four weeks and daily after (long trials stay light), daily visits to follow-up."""
    tps = [t for _, t in spec.timepoints_h()]
    last = max(r.last_dose_h for r in regimens.values())
    follow = spec.follow_up_h() or 0.0
    sessions_end = max((e.time_h + e.duration_h for r in regimens.values() for e in r.events), default=0.0)
    end = max(max(tps), last + follow, sessions_end, 24.0)
    pts = [0.0, *tps, *np.arange(0.0, min(end, 28 * 24.0) + 1e-9, 6.0), *np.arange(0.0, end + 1e-9, 24.0)]
    for r in regimens.values():
        for d in r.doses:
            if d.drug not in CLINIC_DRUGS:
                continue
            pts += list(d.time_h + np.arange(0.0, 4.0 + 1e-9, 5.0 / 60.0))  # 5 min for 4 h: safety peaks
            pts += list(d.time_h + np.arange(4.0, 48.0 + 1e-9, 1.0))
        pts += list(r.last_dose_h + 24.0 * np.arange(1, int(follow // 24) + 1))
    grid = np.array(pts)
    return np.unique(np.round(grid[(grid >= 0) & (grid <= end)], 6))


def observe(sim: Simulation, scale: str, values: dict, *, seed: int, arm: str) -> np.ndarray:
    """Observed scores on ``scale``: the true score plus rater noise, rounded, within the scale. The noise
    comes from the arm's own rating streams, one per saved time (:func:`~neuroplast.cohort.rating_noise`)."""
    z = rating_noise(seed, arm, len(sim.cohort), sim.times_h)
    return SCALES[scale].observe(sim.readouts, sim.cohort.table, values, z)


def run_trial(
    spec: TrialSpec,
    *,
    model: PopulationModel | None = None,
    n_per_arm: int | None = None,
    seed: int | None = None,
    allow_high_dose: bool = False,
    engine: Engine = Tsit5(rtol=1e-5, atol=1e-8),
    progress: Callable[[int], None] | None = None,
    only_arms=None,
) -> TrialResult:
    """Simulate every arm of ``spec`` (``only_arms``: just these) and summarise.

    Each arm's patients and their rater noise come from streams keyed by the seed, the arm's name and
    the patient (:func:`~neuroplast.cohort.sample_cohort`), so an arm's results depend neither on the
    order of the arms, nor on the other arms, and ``n`` patients are the first ``n`` of any larger run.
    """
    if spec.trial.design == "crossover":  # neuroplast.trials.run_trial runs it
        raise ValueError(f"run.run_trial simulates parallel trials, not {spec.trial.design!r}")
    model = default_model() if model is None else model
    t = spec.trial
    n = t.n_per_arm if n_per_arm is None else n_per_arm
    seed = t.seed if seed is None else seed
    regimens = spec.regimens(allow_high_dose=allow_high_dose)
    plan = spec.withdrawal_plan(regimens)  # randomised withdrawal: arms = continuation arms, after the induction
    if plan is not None:
        regimens = plan.regimens(regimens)
    ts = save_grid(spec, regimens)
    if plan is not None:
        ts = plan.save_times(ts)
    tps = spec.timepoints_h()
    resp, remis = t.endpoints.response, spec.remission_threshold()
    follow = spec.follow_up_h()
    method = resolve_method(t.dropout, t.analysis)
    tp_idx = [int(np.searchsorted(ts, h)) for _, h in tps]
    tp_h = np.array([h for _, h in tps])

    arms, rows, summary_arms = {}, [], {}
    enrolled: dict[str, Enrolment] = {}
    for name, regimen in regimens.items():
        if only_arms is not None and name not in only_arms:
            continue
        if plan is not None:
            enrolment = enrolled[name] = enrol(
                plan, arm=name, regimen=regimen, model=model, population=t.population, inclusion=spec.inclusion(),
                scale=t.scale, n=n, seed=seed, ts=ts, dropout=t.dropout, engine=engine, progress=progress,
                open_label=spec.open_label(name),
            )  # fmt: skip
            cohort, sim, scores, drop = enrolment.cohort, enrolment.simulation, enrolment.scores, enrolment.dropout
            baseline = scores[:, 0]
        else:
            cohort = sample_cohort(
                model.values, model.cvs, t.population, n, seed=seed, arm=name, inclusion=spec.inclusion(),
                scale=t.scale,
            ).told(spec.open_label(name))  # fmt: skip
            sim = simulate(model, regimen, cohort, saveat=ts, engine=engine, progress=progress)
            scores = observe(sim, t.scale, model.values, seed=seed, arm=name)
            baseline = scores[:, 0]
            drop = None
        if plan is None and t.dropout is not None:
            drop = draw_dropout(
                t.dropout,
                dropout_draws(seed, name, len(cohort)),
                visits_h=tp_h,
                lack=lack_of_efficacy(baseline, scores[:, tp_idx], resp),
                times_h=ts,
                adverse=adverse_severity(sim.readouts),
                first_end_h=min((e.time_h + e.duration_h for e in regimen.events), default=0.0),
                end_h=float(ts[-1]),
            )
        arms[name] = arm_result = ArmResult(name, sim, scores, baseline, drop)
        ok = sim.ok
        seen = arm_result.observed(ts)
        routes = contributions.per_patient(sim, model, t.scale, scores)
        timepoints = [
            TimepointSummary(
                time=label,
                time_h=float(h),
                **_arm_timepoint(baseline, scores[:, j], ok & seen[:, j], resp, remis, drop is not None),
                **_brain_at(sim, ok, j),
                n_observed=int((ok & seen[:, j]).sum()),
                **contributions.at_timepoint(routes, ok & seen[:, j], j),
            )
            for (label, h), j in zip(tps, tp_idx)
        ]
        rel, per_patient_rel = _relapse(
            ts, np.where(seen, scores, np.nan), baseline, ok, regimen.last_dose_h, follow, resp
        )
        safety, per_patient_safety = _safety(sim, ok, model.values, seed, name)
        extra_safety(sim, ok, model.values, safety, per_patient_safety)  # conditions: new keys only
        left = nobody_leaves(len(ok)) if drop is None else drop
        summary_arms[name] = ArmSummary(
            n=int(ok.sum()),
            n_failed=int((~ok).sum()),
            n_dropped=int((ok & left.left).sum()),
            n_dropped_after_first_dose=int((ok & left.after_first_dose).sum()),
            dropped_reasons={} if drop is None else reason_counts(drop, ok),
            n_analysed=n_analysed(_arm_scores(arm_result, tp_idx, ts), tp_h, method),
            baseline=Baseline(
                mean=float(np.mean(baseline[ok])),
                sd=float(np.std(baseline[ok], ddof=1)) if ok.sum() > 1 else 0.0,
            ),
            timepoints=timepoints,
            relapse=RelapseSummary(**rel),
            safety=SafetySummary(**safety),
            brain=BrainSummary(**_brain(sim, ok)),
        )
        df = cohort.table.copy()
        df.insert(0, "arm", name)
        df["status"] = [PatientStatus(s).name for s in sim.status]
        df["baseline_score"] = baseline
        for (label, _), j in zip(tps, tp_idx):
            rated = scores[:, j] if drop is None else np.where(seen[:, j], scores[:, j], np.nan)
            df[f"score_{label}"] = rated
            df[f"change_{label}"] = rated - baseline
            responded = (rated - baseline) <= -resp * baseline
            if drop is not None:  # not rated: unknown (NA), not a non-responder
                responded = pd.array(responded, dtype="boolean")
                responded[~seen[:, j]] = pd.NA
            df[f"response_{label}"] = responded
        for k, v in {**per_patient_rel, **per_patient_safety, **(enrolled[name].per_patient() if plan else {})}.items():
            df[k] = v
        if drop is not None:
            df["dropout_h"] = np.where(drop.left, drop.left_h, np.nan)
            df["dropout_reason"] = drop.reason.astype(str)
            df["dropped_after_first_dose"] = drop.after_first_dose
        rows.append(df)

    contrasts = []
    names = list(arms)
    scored = {name: _arm_scores(arms[name], tp_idx, ts) for name in names}
    labels = [label for label, _ in tps]
    for a_i in range(len(names)):
        for b_i in range(a_i + 1, len(names)):
            first, second = names[a_i], names[b_i]
            contrasts += pair_contrasts(
                first,
                second,
                scored[first],
                scored[second],
                labels,
                tp_h,
                method=method,
                response=resp,
                remission=remis,
            )

    extra: dict = {} if t.dropout is None else {"dropout": DropoutSummary(**t.dropout.model_dump())}
    if t.blinding != "double":
        extra["blinding"] = t.blinding
    if plan is not None:
        extra |= {"design": t.design, "withdrawal": summarise(plan, enrolled)}
    summary = TrialSummary(
        trial=t.id,
        scale=t.scale,
        seed=seed,
        neuroplast_version=__version__,
        analysis=method,
        **extra,
        arms=summary_arms,
        contrasts=contrasts,
    )
    patients = pd.concat(rows, ignore_index=True)
    return TrialResult(spec, summary, patients, arms, ts)


def _arm_scores(arm: ArmResult, tp_idx, ts) -> ArmScores:
    """The arm's finished patients at the spec's timepoints, NaN where not observed (the analyses' input)."""
    ok = arm.simulation.ok
    s = np.where(arm.observed(ts[tp_idx]), arm.scores[:, tp_idx], np.nan)
    return ArmScores(arm.baseline[ok], s[ok])


def _arm_timepoint(baseline, score, sel, resp, remis, dropout: bool) -> dict:
    """Scores and rates at one visit over the patients ``sel`` (finished and observed there); NaN for none."""
    if dropout and not sel.any():
        keys = ("mean_score", "mean_change", "sd_change", "response_rate", "remission_rate")
        return dict.fromkeys(keys, float("nan"))
    return stats.arm_timepoint(baseline[sel], score[sel], response=resp, remission=remis)


def _brain_at(sim: Simulation, ok, j) -> dict:
    """Slow read-outs at a timepoint (arm means): hippocampal volume (% of healthy), plasticity window, learning."""
    ro = sim.readouts
    if not ok.any():
        return {}
    return {
        "hippocampal_volume_pct": float(100.0 * ro["hippocampal_volume"][ok, j].mean()),
        "plasticity_window": float(ro["plasticity_window"][ok, j].mean()),
        "learning": float(ro["learning"][ok, j].mean()),
    }


def _brain(sim: Simulation, ok) -> dict:
    """Slow scales over the run (arm means): hippocampal volume and neurogenesis at start and end, the peak
    plasticity window, learning at the end."""
    ro = sim.readouts
    if not ok.any():
        return {}
    vol, ng = ro["hippocampal_volume"][ok], ro["neurogenesis"][ok]
    return {
        "hippocampal_volume_pct_start": float(100.0 * vol[:, 0].mean()),
        "hippocampal_volume_change_pct": float(100.0 * (vol[:, -1] - vol[:, 0]).mean()),
        "neurogenesis_per_day_start": float(ng[:, 0].mean()),
        "neurogenesis_per_day_end": float(ng[:, -1].mean()),
        "plasticity_window_peak": float(ro["plasticity_window"][ok].max(axis=1).mean()),
        "learning_end": float(ro["learning"][ok, -1].mean()),
    }


def _relapse(ts, scores, baseline, ok, last_dose_h, follow_h, resp):
    """Responders 24 h after the last dose; relapse = first daily visit no longer meeting response. ``scores``
    is NaN where a patient was not observed (after leaving): a responder who leaves before relapsing is
    censored at the last visit observed."""
    n = scores.shape[0]
    days = np.full(n, np.nan)
    relapsed = np.zeros(n, bool)
    responder = np.zeros(n, bool)
    if not follow_h or follow_h < 48.0:
        return {"responders_at_last_dose": None, "median_days_to_relapse": None}, {
            "responder_at_last_dose": responder,
            "days_to_relapse": days,
            "relapsed": relapsed,
        }
    visits = last_dose_h + 24.0 * np.arange(1, int(follow_h // 24) + 1)
    idx = np.searchsorted(ts, visits)
    seen = np.isfinite(scores[:, idx])
    with np.errstate(invalid="ignore"):
        meets = (scores[:, idx] - baseline[:, None]) <= -resp * baseline[:, None]
    responder = meets[:, 0] & seen[:, 0] & ok
    for p in np.flatnonzero(responder):
        lost = np.flatnonzero(seen[p, 1:] & ~meets[p, 1:])
        if lost.size:
            relapsed[p] = True
            days[p] = float(visits[1 + lost[0]] - last_dose_h) / 24.0
        else:
            days[p] = float(visits[np.flatnonzero(seen[p])[-1]] - last_dose_h) / 24.0
    med = stats.relapse(days[responder], relapsed[responder])
    n_ok = max(int((ok & seen[:, 0]).sum()), 1)
    return (
        {
            "responders_at_last_dose": float(responder.sum() / n_ok),
            "median_days_to_relapse": med,
            "relapsed_fraction_of_responders": float(relapsed[responder].mean()) if responder.any() else None,
        },
        {"responder_at_last_dose": responder, "days_to_relapse": days, "relapsed": relapsed},
    )


def _safety(sim: Simulation, ok, values: dict, seed: int, arm: str):
    """Per patient: peaks and rises of CADSS, SBP, DBP, heart rate and sedation, minutes above the
    SBP alerts, the label's BP rises as the clinic measures them (``trials.bp_readings``: cuff readings at each
    monitored session), and the hours from the first dose until discharge criteria hold."""
    ro, ts = sim.readouts, sim.times_h
    sbp_measured, dbp_measured = bp_readings.measured_rises(sim, values, seed, arm)
    dt_min = np.diff(ts, append=ts[-1]) * 60.0
    sbp, dbp, hr = ro["sbp"], ro["dbp"], ro["heart_rate"]
    per = {
        "cadss_peak": ro["cadss"].max(axis=1),
        "sbp_peak": sbp.max(axis=1),
        "sbp_rise_peak": sbp.max(axis=1) - sbp[:, 0],
        "sedation_peak": ro["sedation"].max(axis=1),
        "dbp_peak": dbp.max(axis=1),
        "dbp_rise_peak": dbp.max(axis=1) - dbp[:, 0],
        "heart_rate_peak": hr.max(axis=1),
        "heart_rate_rise_peak": hr.max(axis=1) - hr[:, 0],
        "sbp_rise_measured": sbp_measured,
        "dbp_rise_measured": dbp_measured,
    }
    for thr in SBP_ALERTS:
        per[f"minutes_sbp_above_{int(thr)}"] = ((sbp > thr) * dt_min).sum(axis=1)
    per["discharge_h"] = _discharge_h(sim)

    def rise(x):
        return float((x[ok] - x[ok, :1]).mean(axis=0).max()) if ok.any() else 0.0

    out = {
        "cadss_peak_mean": float(per["cadss_peak"][ok].mean()),
        "sbp_peak_mean": float(per["sbp_peak"][ok].mean()),
        "sbp_largest_mean_rise": rise(sbp),
        "sedation_peak_mean": float(per["sedation_peak"][ok].mean()),
    }
    for thr in SBP_ALERTS:
        out[f"share_sbp_above_{int(thr)}"] = float((per[f"minutes_sbp_above_{int(thr)}"][ok] > 0).mean())
    out.update(
        {
            "dbp_peak_mean": float(per["dbp_peak"][ok].mean()),
            "dbp_largest_mean_rise": rise(dbp),
            "heart_rate_peak_mean": float(per["heart_rate_peak"][ok].mean()),
            "heart_rate_largest_mean_rise": rise(hr),
            "share_sbp_rise_40": float((sbp_measured[ok] >= BP_RISES[0]).mean()),  # NaN (no session): not a rise
            "share_dbp_rise_25": float((dbp_measured[ok] >= BP_RISES[1]).mean()),
            "share_cadss_above_4": float((per["cadss_peak"][ok] > DISCHARGE["cadss_below"]).mean()),
            "minutes_sbp_above_160_mean": float(per["minutes_sbp_above_160"][ok].mean()),
            "discharge_h_median": float(np.nanmedian(per["discharge_h"][ok]))
            if np.isfinite(per["discharge_h"][ok]).any()
            else None,
            "discharge_h_p90": float(np.nanpercentile(per["discharge_h"][ok], 90))
            if np.isfinite(per["discharge_h"][ok]).any()
            else None,
        }
    )
    return out, per


def _discharge_h(sim: Simulation) -> np.ndarray:
    """Hours from the first dose until the discharge criteria hold for good (NaN if never in the grid)."""
    ro, ts = sim.readouts, sim.times_h
    visits = sim.regimen.clinic_visits()
    if not visits:  # no monitored session (pills, therapy, wait list): nothing to discharge from
        return np.full(ro["sbp"].shape[0], np.nan)
    session = visits[0]
    first = session[0]
    observe_h = 2.0 if (first.drug, first.route) == ("esketamine", "intranasal") else 0.5
    earliest = max(d.time_h + d.duration_h for d in session) + observe_h
    sbp = ro["sbp"]
    good = (
        (ro["cadss"] < DISCHARGE["cadss_below"])
        & (sbp < DISCHARGE["sbp_below"])
        & (sbp - sbp[:, :1] < DISCHARGE["sbp_rise_below"])
        & (ro["sedation"] < DISCHARGE["sedation_below"])
    )
    window = (ts >= first.time_h) & (ts <= first.time_h + 24.0)
    out = np.full(good.shape[0], np.nan)
    idx = np.flatnonzero(window)
    for p in range(good.shape[0]):
        bad = idx[~good[p, idx]]
        t_ok = ts[bad[-1] + 1] if bad.size and bad[-1] + 1 < ts.size else (ts[idx[0]] if not bad.size else np.nan)
        out[p] = max(t_ok, earliest) - first.time_h if np.isfinite(t_ok) else np.nan
    return out
