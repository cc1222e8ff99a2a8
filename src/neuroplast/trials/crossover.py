"""Run a crossover trial (``design = "crossover"``; docs/trial-format.md, docs/analysis.md).

Every patient lives through every period: one continuous simulation per patient whose regimen is the
concatenation of the arms' regimens in the order of the patient's sequence, period ``k`` starting at
``k * (period + washout)``; what an earlier period leaves behind (drug, spines, learning, expectancy) carries
into the next. Each period is read on the same grid of times relative to its first dose, so the periods on one
arm pool into that arm's summary (scores, safety, the slow read-outs) as a parallel arm's patients do.

Patients come from the per-arm random streams (:func:`~neuroplast.cohort.sample_cohort`) keyed by the sequence
(:func:`.crossover_spec.sequence_key`): ``n_per_arm`` patients in all, split evenly over the sequences, so
adding a sequence leaves every other sequence's first patients, their rater noise and dropout draws as they
were.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from .. import __version__
from .._errors import NeuroplastInputError, PatientStatus
from ..cohort import Cohort, dropout_draws, sample_cohort
from ..conditions.safety import extra_safety
from ..engine import Engine, Simulation, Tsit5
from ..simulation import PopulationModel, default_model, simulate
from . import contributions, stats
from .crossover_analysis import crossover_mixed
from .crossover_spec import CrossoverDesign, sequence_key, sequence_label
from .dropout import Dropout, adverse_severity, draw_dropout, lack_of_efficacy, reason_counts
from .run import ArmResult, TrialResult, _arm_timepoint, _brain, _brain_at, _safety, observe, save_grid
from .spec import TrialSpec
from .summary import (
    ArmSummary,
    Baseline,
    BrainSummary,
    Contrast,
    CrossoverCell,
    CrossoverSequence,
    CrossoverSummary,
    CrossoverVisit,
    DropoutSummary,
    RelapseSummary,
    SafetySummary,
    TimepointSummary,
    TrialSummary,
)

METHOD = "crossover_mixed"


@dataclasses.dataclass(frozen=True)
class _Cell:
    """One period of one sequence, read on the period grid: ``sim`` its window (times from the period's first
    dose), ``baseline`` the score at that dose, ``scores`` and ``seen`` at the spec's timepoints, ``started``
    whether each patient was still in the trial at the period's start, ``left`` whether each left during the
    period or the washout after it."""

    arm: str
    label: str  # the sequence's label
    sequence: int
    period: int
    start_h: float
    sim: Simulation
    baseline: np.ndarray
    trial_baseline: np.ndarray
    scores: np.ndarray
    seen: np.ndarray
    started: np.ndarray
    left: np.ndarray
    dropout: Dropout | None
    routes: dict | None  # contributions of the change from the period baseline at the visits; None: not a mood scale


def period_grid(spec: TrialSpec, regimens, period_h: float) -> np.ndarray:
    """Save times of one period (h from its first dose, 0 to ``period_h``): the parallel grid of the arms
    (:func:`.run.save_grid`: timepoints, fine grids after clinic doses, 6-hourly then daily) cut to the
    period, with daily points and the period's end."""
    g = save_grid(spec, regimens)
    pts = np.concatenate([g[g <= period_h], np.arange(0.0, period_h, 24.0), [period_h]])
    return np.unique(np.round(pts, 6))


def _grid(g: np.ndarray, xo: CrossoverDesign) -> tuple[np.ndarray, list[np.ndarray]]:
    """The run's save times (every period's grid, daily points in the washouts) and each period's indices."""
    step = xo.period_h + xo.washout_h
    parts = [np.round(g + xo.start_h(k), 6) for k in range(xo.n_periods)]
    wash = [xo.start_h(k) + np.arange(xo.period_h, step, 24.0) for k in range(xo.n_periods - 1)]
    ts = np.unique(np.concatenate([*parts, *[np.round(w, 6) for w in wash]]))
    return ts, [np.searchsorted(ts, p) for p in parts]


def run_crossover(
    spec: TrialSpec,
    *,
    model: PopulationModel | None = None,
    n_per_arm: int | None = None,
    seed: int | None = None,
    allow_high_dose: bool = False,
    engine: Engine = Tsit5(rtol=1e-5, atol=1e-8),
    progress: Callable[[int], None] | None = None,
) -> TrialResult:
    """Simulate a crossover ``spec`` and summarise it (``summary.json`` with its ``crossover`` block).

    ``n_per_arm`` patients in all (each receives every arm), split evenly over the sequences (the first
    sequences get one more when it does not divide). ``result.arms`` holds one :class:`~.run.ArmResult` per
    sequence (its label: :func:`.crossover_spec.sequence_label`), the whole run of its patients.
    """
    model = default_model() if model is None else model
    t = spec.trial
    n = t.n_per_arm if n_per_arm is None else n_per_arm
    seed = t.seed if seed is None else seed
    regimens = spec.regimens(allow_high_dose=allow_high_dose)
    xo = spec.crossover(regimens, allow_high_dose=allow_high_dose)
    assert xo is not None, "run_crossover needs a crossover spec"
    n_seq = len(xo.sequences)
    if n < n_seq:
        raise NeuroplastInputError(
            f"a crossover of {n_seq} sequences needs at least {n_seq} patients", field="trial.n_per_arm", value=n
        )
    tps = spec.timepoints_h()
    labels, tp_h = [label for label, _ in tps], np.array([h for _, h in tps])
    resp, remis = t.endpoints.response, spec.remission_threshold()
    g = period_grid(spec, regimens, xo.period_h)
    ts, windows = _grid(g, xo)
    tp_rel = np.searchsorted(g, np.round(tp_h, 6))

    results, cells, seq_summaries = {}, [], []
    for si, seq in enumerate(xo.sequences):
        key, n_s = sequence_key(seq), n // n_seq + (si < n % n_seq)
        cohort = sample_cohort(
            model.values, model.cvs, t.population, n_s, seed=seed, arm=key, inclusion=spec.inclusion(), scale=t.scale
        )
        sim = simulate(model, xo.regimens[si], cohort, saveat=ts, engine=engine, progress=progress)
        scores = observe(sim, t.scale, model.values, seed=seed, arm=key)
        visits = [w[tp_rel] for w in windows]
        drop = None
        if t.dropout is not None:
            lack = [lack_of_efficacy(scores[:, w[0]], scores[:, v], resp) for w, v in zip(windows, visits)]
            drop = draw_dropout(
                t.dropout,
                dropout_draws(seed, key, n_s),
                visits_h=np.concatenate([ts[v] for v in visits]),
                lack=np.concatenate(lack, axis=1),
                times_h=ts,
                adverse=adverse_severity(sim.readouts),
                first_end_h=min((e.time_h + e.duration_h for e in xo.regimens[si].events), default=0.0),
                end_h=float(ts[-1]),
            )
        seen = np.ones((n_s, ts.size), bool) if drop is None else drop.observed(ts)
        label = sequence_label(seq)
        results[label] = ArmResult(label, sim, scores, scores[:, 0], drop)
        routes = contributions.per_patient(sim, model, t.scale, scores)  # changes from the trial's first dose
        seq_cells = []
        for k, arm in enumerate(seq):
            w = windows[k]
            start, after = xo.start_h(k), (xo.start_h(k + 1) if k + 1 < len(seq) else np.inf)
            left = np.zeros(n_s, bool) if drop is None else (drop.left_h >= start) & (drop.left_h < after)
            window = Simulation(
                times_h=g,
                states=sim.states[:, w],
                readouts={name: np.asarray(v)[:, w] for name, v in sim.readouts.items()},
                status=sim.status,
                cohort=cohort,
                regimen=regimens[arm],
            )
            seq_cells.append(
                _Cell(
                    arm=arm,
                    label=label,
                    sequence=si,
                    period=k,
                    start_h=start,
                    sim=window,
                    baseline=scores[:, w[0]],
                    trial_baseline=scores[:, 0],
                    scores=scores[:, visits[k]],
                    seen=seen[:, visits[k]],
                    started=seen[:, w[0]],
                    left=left,
                    dropout=drop,
                    routes=None
                    if routes is None
                    else {key: r[:, visits[k]] - r[:, w[:1]] for key, r in routes.items()},
                )
            )
        cells += seq_cells
        seq_summaries.append(_sequence_summary(seq, sim.ok, seq_cells, labels, tp_h))

    arm_names = [a.name for a in spec.arm]
    summary_arms, rows = {}, []
    for arm in arm_names:
        mine = [c for c in cells if c.arm == arm]
        summary_arms[arm], arm_rows = _arm(arm, mine, labels, tp_h, tp_rel, model.values, resp, remis, seed)
        rows += arm_rows
    contrasts = _contrasts(cells, arm_names, labels, resp)
    extra: dict = {} if t.dropout is None else {"dropout": DropoutSummary(**t.dropout.model_dump())}
    if t.blinding != "double":
        extra["blinding"] = t.blinding
    summary = TrialSummary(
        trial=t.id,
        scale=t.scale,
        seed=seed,
        neuroplast_version=__version__,
        analysis=METHOD,
        **extra,
        design="crossover",
        crossover=CrossoverSummary(
            washout=xo.washout,
            washout_h=xo.washout_h,
            period=xo.period,
            period_h=xo.period_h,
            baseline="period",
            sequences=seq_summaries,
        ),
        arms=summary_arms,
        contrasts=contrasts,
    )
    patients = pd.concat(rows, ignore_index=True)  # one row per patient and period, by sequence and patient
    patients = patients.sort_values(["sequence_index", "patient", "period"], kind="stable")
    patients = patients.drop(columns="sequence_index").reset_index(drop=True)
    return TrialResult(spec, summary, patients, results, ts)


def _pooled(cells: list[_Cell]) -> Simulation:
    """The cells' windows stacked patient-wise: one arm's periods as one cohort on the period grid."""
    first = cells[0].sim
    return Simulation(
        times_h=first.times_h,
        states=np.concatenate([c.sim.states for c in cells]),
        readouts={k: np.concatenate([c.sim.readouts[k] for c in cells]) for k in first.readouts},
        status=np.concatenate([c.sim.status for c in cells]),
        cohort=Cohort(first.cohort.population, pd.concat([c.sim.cohort.table for c in cells], ignore_index=True)),
        regimen=first.regimen,
    )


def _arm(arm, cells: list[_Cell], labels, tp_h, tp_rel, values, resp, remis, seed) -> tuple[ArmSummary, list]:
    """One arm pooled over its periods (every sequence gives it once): the summary and the patients' rows."""
    sim = _pooled(cells)
    ok = sim.ok
    baseline = np.concatenate([c.baseline for c in cells])
    scores = np.concatenate([c.scores for c in cells])
    seen = np.concatenate([c.seen for c in cells])
    started = np.concatenate([c.started for c in cells]) & ok
    left = np.concatenate([c.left for c in cells]) & ok
    parts = [c.routes for c in cells if c.routes is not None]
    routes = {k: np.concatenate([r[k] for r in parts]) for k in parts[0]} if len(parts) == len(cells) else None
    timepoints = [
        TimepointSummary(
            time=label,
            time_h=float(h),
            **_arm_timepoint(baseline, scores[:, j], ok & seen[:, j], resp, remis, True),
            **_brain_at(sim, ok, int(tp_rel[j])),
            n_observed=int((ok & seen[:, j]).sum()),
            **contributions.at_timepoint(routes, ok & seen[:, j], j),
        )
        for j, (label, h) in enumerate(zip(labels, tp_h))
    ]
    safety, per = _safety(sim, ok, values, seed, arm)
    extra_safety(sim, ok, values, safety, per)
    drops = [c for c in cells if c.dropout is not None]
    first_dose = (
        np.concatenate([c.dropout.after_first_dose if c.dropout else np.zeros(len(c.baseline), bool) for c in cells])
        & left
    )
    reasons = {}
    if drops:
        reason = np.concatenate([c.dropout.reason if c.dropout else np.full(len(c.baseline), "") for c in cells])
        reasons = reason_counts(Dropout(np.zeros(len(reason)), reason, first_dose), left)
    last = int(np.argmax(tp_h))
    summary = ArmSummary(
        n=int(ok.sum()),
        n_failed=int((~ok).sum()),
        n_dropped=int(left.sum()),
        n_dropped_after_first_dose=int(first_dose.sum()),
        dropped_reasons=reasons,
        n_analysed=int((ok & seen[:, last]).sum()),
        baseline=Baseline(
            mean=float(np.mean(baseline[started])) if started.any() else float("nan"),
            sd=float(np.std(baseline[started], ddof=1)) if started.sum() > 1 else 0.0,
        ),
        timepoints=timepoints,
        relapse=RelapseSummary(responders_at_last_dose=None, median_days_to_relapse=None),
        safety=SafetySummary(**safety),
        brain=BrainSummary(**_brain(sim, ok)),
    )
    rows, at = [], 0
    for c in cells:
        m = len(c.baseline)
        df = c.sim.cohort.table.copy()
        df.insert(0, "arm", arm)
        df.insert(1, "sequence", c.label)
        df.insert(2, "period", c.period + 1)
        df["sequence_index"] = c.sequence
        df["status"] = [PatientStatus(s).name for s in c.sim.status]
        df["baseline_score"] = np.where(c.started, c.baseline, np.nan)
        df["trial_baseline_score"] = c.trial_baseline
        for j, label in enumerate(labels):
            rated = np.where(c.seen[:, j], c.scores[:, j], np.nan)
            df[f"score_{label}"] = rated
            df[f"change_{label}"] = rated - c.baseline
            responded = pd.array((rated - c.baseline) <= -resp * c.baseline, dtype="boolean")
            responded[~c.seen[:, j]] = pd.NA
            df[f"response_{label}"] = responded
        for k, v in per.items():
            df[k] = np.asarray(v)[at : at + m]
        if c.dropout is not None:
            df["dropout_h"] = np.where(c.dropout.left, c.dropout.left_h, np.nan)
            df["dropout_reason"] = c.dropout.reason.astype(str)
            df["dropped_after_first_dose"] = c.dropout.after_first_dose
        rows.append(df)
        at += m
    return summary, rows


def _sequence_summary(seq, ok, cells: list[_Cell], labels, tp_h) -> CrossoverSequence:
    periods = []
    for c in cells:
        started = ok & c.started
        visits = []
        for j, (label, h) in enumerate(zip(labels, tp_h)):
            sel = ok & c.seen[:, j]
            visits.append(
                CrossoverVisit(
                    time=label,
                    time_h=float(h),
                    n_observed=int(sel.sum()),
                    mean_score=float(np.mean(c.scores[sel, j])) if sel.any() else float("nan"),
                    mean_change=float(np.mean(c.scores[sel, j] - c.baseline[sel])) if sel.any() else float("nan"),
                )
            )
        periods.append(
            CrossoverCell(
                period=c.period + 1,
                arm=c.arm,
                start_h=c.start_h,
                n_started=int(started.sum()),
                baseline_mean=float(np.mean(c.baseline[started])) if started.any() else float("nan"),
                timepoints=visits,
            )
        )
    return CrossoverSequence(arms=list(seq), n=int(ok.sum()), n_failed=int((~ok).sum()), periods=periods)


def _contrasts(cells: list[_Cell], arm_names: list[str], labels, resp) -> list[Contrast]:
    """Every pair of arms (spec order) at every timepoint, from one mixed-model fit per timepoint."""
    out = []
    for j, label in enumerate(labels):
        change, patient, treatment, period, sequence, responded = [], [], [], [], [], []
        for c in cells:
            sel = c.sim.ok & c.seen[:, j]
            idx = np.flatnonzero(sel)
            ch = c.scores[idx, j] - c.baseline[idx]
            change.append(ch)
            responded.append(ch <= -resp * c.baseline[idx])
            patient += [f"{c.sequence}:{p}" for p in idx]
            treatment += [c.arm] * idx.size
            period += [c.period + 1] * idx.size
            sequence += [c.sequence] * idx.size
        y, r = np.concatenate(change), np.concatenate(responded)
        tr = np.array(treatment, dtype=object)
        fit, note = None, None
        try:
            fit = crossover_mixed(y, np.array(patient), tr, np.array(period), np.array(sequence), levels=arm_names)
        except (ValueError, np.linalg.LinAlgError) as exc:  # the trial goes on; its contrasts say why
            note = f"crossover mixed model not estimable: {exc}"
        for a_i, a in enumerate(arm_names):
            for b in arm_names[a_i + 1 :]:
                in_a, in_b = tr == a, tr == b
                if in_a.sum() < 2 or in_b.sum() < 2:
                    continue
                marginal = stats.contrast(y[in_a], y[in_b], r[in_a], r[in_b])
                d: dict = (
                    fit["differences"][(a, b)]
                    if fit
                    else {"difference": np.nan, "ci95": [np.nan, np.nan], "p_value": np.nan}
                )
                extra: dict = {} if note is None else {"note": note}
                out.append(
                    Contrast(
                        arms=(a, b),
                        time=label,
                        mean_difference=d["difference"],
                        ci95=tuple(d["ci95"]),
                        odds_ratio_response=marginal["odds_ratio_response"],
                        cohens_d=marginal["cohens_d"],
                        method=METHOD,
                        data="observed",
                        p_value=d["p_value"],
                        n_analysed=(int(in_a.sum()), int(in_b.sum())),
                        **extra,
                    )
                )
    return out


__all__ = ["METHOD", "period_grid", "run_crossover"]
