"""The forecast workflow: history → posterior → bands and relapse → booster plans → a JSON-ready result."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import numpy as np

from .. import __version__
from .._errors import NeuroplastInputError
from ..io.history import PatientHistory, _instrument
from ..scales.symptoms import crosswalk
from ..simulation import default_model
from . import data as fdata
from .patient import PatientModel, patient_cohort
from .plan import Constraints, fixed_plan, greedy, slots
from .posterior import Posterior, fit_laplace, fit_nuts
from .predict import Target, bands, relapse, simulate_draws, target_met

DEFAULT_BOOSTER = {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min"}
"""The booster when the history has no dose to repeat: the standard antidepressant infusion."""

_TARGET = re.compile(r"^\s*([A-Za-z0-9_\- ]+?)\s*<\s*([0-9]+(?:\.[0-9]+)?)\s*$")


def parse_target(text: str, probability: float = 0.8) -> Target:
    """``"PHQ9<10"`` → keep PHQ-9 below 10 with ``probability``."""

    m = _TARGET.match(str(text))
    if not m:
        raise NeuroplastInputError(
            'target must look like "PHQ9<10" (instrument < threshold)', field="--target", value=text
        )
    try:
        instrument = _instrument(m.group(1), "--target")
    except NeuroplastInputError as exc:
        raise NeuroplastInputError(exc.message, field="--target", value=text) from None
    thr = float(m.group(2))
    lo, hi = crosswalk.RANGES[instrument]
    if not lo < thr <= hi:
        raise NeuroplastInputError(
            f"threshold outside the {instrument} range ({lo}-{hi})", field="--target", value=text
        )
    if not 0.0 < probability < 1.0:
        raise NeuroplastInputError(
            "probability must be between 0 and 1 (e.g. 0.8)", field="--probability", value=probability
        )
    return Target(instrument, thr, float(probability))


@dataclasses.dataclass(frozen=True)
class ForecastResult:
    data: dict  # forecast.json
    grid_time: list  # datetimes of the plotting grid
    grid_bands: dict  # measured-score bands on the plotting grid (target instrument)
    observations: list  # (datetime, instrument, score, score on the target instrument)
    given_doses: list  # datetimes
    plan_curves: dict  # plan name -> (daily datetimes, median true score, p05, p95)
    now: dt.datetime


def _posterior(method, pm, obs, sv, n_draws, seed) -> Posterior:
    if method == "laplace":
        return fit_laplace(pm, obs, sv, n_draws=n_draws, seed=seed)
    if method == "nuts":
        return fit_nuts(pm, obs, sv, n_draws=n_draws, seed=seed)
    raise NeuroplastInputError("unknown method; use laplace or nuts", field="--method", value=method)


def forecast(
    history: PatientHistory,
    *,
    weeks: float = 8.0,
    target: Target = Target("PHQ9", 10.0, 0.8),
    method: str = "laplace",
    constraints: Constraints = Constraints(),
    now: dt.datetime | None = None,
    n_draws: int = 200,
    seed: int = 0,
    label: str | None = None,
    model=None,
) -> ForecastResult:
    """Fit the patient, forecast ``weeks`` ahead under the current plan (no further doses), plan boosters."""

    if not 0 < weeks <= 26:
        raise NeuroplastInputError("--weeks must be between 0 and 26", field="--weeks", value=weeks)
    if constraints.min_days < 0:
        raise NeuroplastInputError(
            "minimum days between infusions must not be negative", field="--min-days", value=constraints.min_days
        )
    model = default_model() if model is None else model
    now = history.last_time if now is None else now
    if now < history.last_time:
        raise NeuroplastInputError(
            "the forecast start is before the last record of the history", field="--now", value=now.isoformat()
        )
    if method not in ("laplace", "nuts"):
        raise NeuroplastInputError("unknown method; use laplace or nuts", field="--method", value=method)
    cohort = patient_cohort(model.values, weight_kg=history.weight_kg, female=history.female, age_y=history.age_y)
    pm = PatientModel.build(model.values, model.cvs, cohort)
    max_h = pm.stable_step_h()
    tl = fdata.timeline(history)
    obs_h = fdata.observation_hours(tl, history)
    now_h = tl.hours(now)
    end_h = now_h + weeks * 7 * 24.0
    days = int(round(weeks * 7))
    daily_h = now_h + 24.0 * np.arange(days + 1)
    plot_h = np.unique(np.round(np.concatenate([np.arange(0.0, end_h, 6.0), daily_h, obs_h]), 6))
    plot_h = plot_h[(plot_h >= 0) & (plot_h <= end_h)]
    # the fit and the current-plan forecast share the doses given: one reference solve serves both
    (sv_fit, obs_idx), (sv_now, idx) = fdata.prepare_shared(
        model,
        cohort,
        tl,
        history.doses,
        history.weight_kg,
        [(float(obs_h[-1]) + 1e-3, obs_h), (end_h, np.concatenate([plot_h, daily_h]))],
        max_h=max_h,
    )
    obs = fdata.observed(history, obs_idx)
    post = _posterior(method, pm, obs, sv_fit, n_draws, seed)
    madrs = simulate_draws(pm, post.draws, sv_now, idx)
    failed = int(np.sum(~np.all(np.isfinite(madrs), axis=1)))
    true_target = crosswalk.from_madrs(madrs, target.instrument)
    b = bands(true_target[:, : plot_h.size], target.instrument, seed=seed)
    daily_true = true_target[:, plot_h.size :]
    bd = bands(daily_true, target.instrument, seed=seed)
    rel = relapse(daily_true, target)

    # booster plans
    template = dataclasses.asdict(history.doses[-1]) if history.doses else dict(DEFAULT_BOOSTER)
    hour = history.doses[-1].time.astimezone(tl.tz).timetz().replace(tzinfo=None) if history.doses else dt.time(9, 0)
    end = tl.at(end_h)
    cands = slots(now, end, hour=hour, tz=tl.tz, weekdays_only=constraints.weekdays_only)
    given = [d.time for d in history.doses]
    window_start = (tl.hours(cands[0]) + 24.0) if cands else end_h
    w0 = int(np.searchsorted(daily_h, window_start - 1e-6))
    window = slice(min(w0, days), days + 1)

    def planned(times):
        return [
            fdata.PlannedDose(t, template["drug"], template["route"], template["amount"], template["duration"])
            for t in times
        ]

    cache: dict = {}
    plan_draws = 100  # plan search: 100 posterior draws (probabilities to about ±4 points)

    def run_plan(times):
        key = tuple(times)
        if key not in cache:
            sv, ix = fdata.prepare(
                model, cohort, tl, list(history.doses) + planned(times), history.weight_kg, end_h, daily_h, max_h=max_h
            )
            cache[key] = crosswalk.from_madrs(simulate_draws(pm, post.draws[:plan_draws], sv, ix), target.instrument)
        return cache[key]

    def evaluate(times):
        x = run_plan(times)
        p, first = target_met(x, target, window)
        share = float(np.mean(x[:, window] < target.threshold)) if x[:, window].size else 1.0
        return p, np.where(np.isfinite(first), daily_h[np.minimum(first, days).astype(int)], np.inf), share

    rec, p_rec, trace = greedy(evaluate, cands, given, constraints, target.probability, tl.hours)
    plans = [("fewest doses meeting the target (greedy)", rec)]
    for name, every in (("weekly", 7.0), ("every 2 weeks", 14.0)):
        if every + 1e-9 >= constraints.min_days:
            plans.append((name, fixed_plan(every, cands, given, constraints.min_days)))
    plans.append(("none", []))
    rows: list[dict[str, Any]] = []
    seen = set()
    for name, times in plans:
        if tuple(times) in seen and name != "none":
            name = f"{name} (same as above)"
        seen.add(tuple(times))
        p, _ = target_met(run_plan(times), target, window)
        rows.append(
            {
                "name": name,
                "doses": [t.astimezone(tl.tz).isoformat(timespec="minutes") for t in times],
                "n_doses": len(times),
                "probability_target_met": p,
                "meets_target": bool(p >= target.probability),
                "_times": times,
            }
        )
    meeting = [r for r in rows if r["meets_target"]]
    best = (
        min(meeting, key=lambda r: (r["n_doses"], -r["probability_target_met"]))
        if meeting
        else max(rows, key=lambda r: (r["probability_target_met"], -r["n_doses"]))
    )
    rows = [best] + [r for r in rows if r is not best]
    best["recommended"] = True
    curves = {}
    for r in rows:
        x = run_plan(r["_times"])
        ok = np.all(np.isfinite(x), axis=1)
        q = np.quantile(x[ok], [0.05, 0.5, 0.95], axis=0)
        curves[r["name"]] = ([tl.at(h) for h in daily_h], q[1], q[0], q[2], r.pop("_times"))

    post_params = {}
    vals = np.asarray(pm.latent_values(post.draws))
    for j, lat in enumerate(pm.latents):
        v = vals[:, j]
        post_params[lat.name] = {
            "description": lat.description,
            "median": float(np.median(v)),
            "p05": float(np.quantile(v, 0.05)),
            "p95": float(np.quantile(v, 0.95)),
            "prior": lat.source,
        }
    forecast_rows = [
        {"time": tl.iso(h), **{k: float(bd[k][i]) for k in ("median", "p05", "p25", "p75", "p95")}}
        for i, h in enumerate(daily_h)
    ]
    med_day = rel["median_day"]
    out = {
        "neuroplast_version": __version__,
        "disclaimer": "Research software, not a medical device: not for decisions about any patient's care.",
        "instrument": target.instrument,
        "now": now.astimezone(tl.tz).isoformat(timespec="minutes"),
        "horizon_weeks": weeks,
        "target": {
            "instrument": target.instrument,
            "threshold": target.threshold,
            "probability": target.probability,
            "label": target.label(),
            "evaluated_from": tl.iso(daily_h[window.start]) if window.start <= days else None,
            "definition": "the true score stays below the threshold on every daily check from one day after "
            "the earliest possible booster to the end of the horizon",
        },
        "forecast": forecast_rows,
        "forecast_note": "bands of the score the clinic would measure (true score plus rating error), under the "
        "current plan: no doses beyond those in the history",
        "relapse": {
            "probability": rel["probability"],
            "median_time": tl.iso(now_h + 24.0 * med_day) if med_day is not None else None,
            "probability_below_threshold_now": rel["probability_below_threshold_now"],
            "definition": f"first daily check with the true {target.instrument} at or above "
            f"{target.threshold:g}, among posterior draws below it now, within the horizon "
            "(clinic target definition, not the trial code's loss of response)",
        },
        "plans": rows,
        "constraints": {
            "weekdays_only": constraints.weekdays_only,
            "min_days_between_infusions": constraints.min_days,
            "booster": {k: template[k] for k in ("drug", "route", "amount", "duration")},
        },
        "posterior": {
            **post.diagnostics,
            "n_draws": int(post.draws.shape[0]),
            "failed_draws": failed,
            "parameters": post_params,
        },
        "search_trace": trace,
        "observation_model": {
            name: {"noise_sd": crosswalk.NOISE_SD[name], "source": crosswalk.NOISE_SOURCES[name]}
            for name in crosswalk.INSTRUMENTS
        },
    }
    if label:
        out["label"] = label
    observations = [
        (
            o.time,
            o.instrument,
            o.score,
            float(crosswalk.from_madrs(crosswalk.to_madrs(o.score, o.instrument), target.instrument)),
        )
        for o in history.observations
    ]
    return ForecastResult(out, [tl.at(h) for h in plot_h], b, observations, given, curves, now)


__all__ = ["DEFAULT_BOOSTER", "ForecastResult", "forecast", "parse_target"]
