"""Simulate each compared mechanistic entry and set the simulated observation against the published one.

:func:`simulate_entries` runs every :class:`~neuroplast.mechanism.data.Comparison` (its arms, for the typical
patient of its population or a small sampled cohort) and observes the result through its family
(:mod:`neuroplast.mechanism.observe`); :func:`rows` turns that into rows shaped like the clinical rows of
``neuroplast validate --json``: ``study, kind, arms, time, metric, published, lo, hi, simulated, inside``.
No parameter is fitted here.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._units import parse_quantity
from ..cohort import Cohort, sample_cohort, typical_patient
from ..engine import Engine, Tsit5
from ..model import Model
from ..simulation import PopulationModel, default_model, simulate
from .data import CONFIG_PATH, SPLIT_PATH, Comparison, Point, load_comparisons
from .observe import FAMILIES, observed


@dataclasses.dataclass(frozen=True)
class Simulated:
    """One entry simulated: observed curves (percent, by curve label) on ``times_h`` and a value per point."""

    comparison: Comparison
    times_h: np.ndarray
    curves: dict[str, np.ndarray]  # label -> (T,) observed, the typical patient or the cohort mean
    values: tuple[float | None, ...]


def _grid(c: Comparison) -> np.ndarray:
    end = max(c.end_h * 1.15, 2.0)
    parts = [np.linspace(0.0, end, 301), np.geomspace(1.0 / 60.0, end, 200)]
    for p in c.points:
        if p.window_h:
            parts.append(np.linspace(*p.window_h, 61))
        else:
            parts.append(np.array([float(p.t_h or 0.0)]))
    return np.unique(np.concatenate(parts))


def _cohort(model: PopulationModel, c: Comparison, arm: str) -> Cohort:
    if c.cohort is None:
        return typical_patient(model.values, population=c.population)
    n, seed = c.cohort
    return sample_cohort(model.values, model.cvs, c.population, n, seed=seed, arm=None)


def _at(ts: np.ndarray, series: np.ndarray, p: Point) -> float:
    """The series at the point's time, or its largest change (by magnitude) inside the point's window."""
    if p.window_h is None:
        return float(np.interp(float(p.t_h or 0.0), ts, series))
    inside = (ts >= p.window_h[0] - 1e-9) & (ts <= p.window_h[1] + 1e-9)
    x = series[inside]
    return float(x[np.argmax(np.abs(x))])


def simulate_entry(c: Comparison, model: PopulationModel | None = None, *, engine: Engine = Tsit5()) -> Simulated:
    """Simulate every arm of ``c`` and observe it through its family."""
    model = default_model() if model is None else model
    family = FAMILIES[c.family]
    ts = _grid(c)
    raw, obs, ros = {}, {}, {}
    for name, regimen in c.arms.items():
        cohort = _cohort(model, c, name)
        sim = simulate(model, regimen, cohort, saveat=ts, engine=engine)
        ro = {k: np.asarray(v)[sim.ok] for k, v in sim.readouts.items()}
        built = Model.build(model, cohort.take(np.flatnonzero(sim.ok)), host=True) if family.needs_model else None
        raw[name] = family.raw(ro, built)
        obs[name] = observed(family, ro, built)
        ros[name] = ro
    curves: dict[str, np.ndarray] = {}
    if c.contrast:
        a, b, how = c.contrast
        if how == "difference":
            curve = obs[a].mean(axis=0) - obs[b].mean(axis=0)
        else:
            curve = 100.0 * (raw[a].mean(axis=0) / raw[b].mean(axis=0) - 1.0)
        curves[f"{a} vs {b}"] = curve
    else:
        curves = {name: o.mean(axis=0) for name, o in obs.items()}
    values = []
    for p in c.points:
        if p.statistic == "responders_vs_nonresponders":
            arm = p.arm or next(iter(c.arms))
            responder = _responder_mask(c, ts, ros[arm])
            values.append(_group_ratio(ts, raw[arm], responder, p))
            curves = {
                f"responders (n={int(responder.sum())})": obs[arm][responder].mean(axis=0),
                f"non-responders (n={int((~responder).sum())})": obs[arm][~responder].mean(axis=0),
            }
            continue
        label = f"{c.contrast[0]} vs {c.contrast[1]}" if c.contrast else (p.arm or next(iter(c.arms)))
        values.append(_at(ts, curves[label], p))
    return Simulated(c, ts, curves, tuple(values))


def _responder_mask(c: Comparison, ts: np.ndarray, ro: dict) -> np.ndarray:
    """Responders: ``responders.readout`` fell by at least ``responders.reduction`` from its pre-dose value by
    ``responders.at``."""
    spec = c.responders or {}
    score = np.asarray(ro[spec["readout"]], dtype=float)
    at_h = parse_quantity(spec["at"], "time", field="responders.at")
    after = np.array([np.interp(at_h, ts, s) for s in score])
    return after <= (1.0 - float(spec["reduction"])) * score[:, 0]


def _group_ratio(ts: np.ndarray, raw: np.ndarray, responder: np.ndarray, p: Point) -> float | None:
    """``100 (mean raw of responders / mean raw of non-responders − 1)`` at the point's time; None when either
    group is empty."""
    if responder.all() or not responder.any():
        return None
    level = np.array([np.interp(float(p.t_h or 0.0), ts, r) for r in raw])
    return float(100.0 * (level[responder].mean() / level[~responder].mean() - 1.0))


def simulate_entries(
    model: PopulationModel | None = None,
    *,
    config=CONFIG_PATH,
    split=SPLIT_PATH,
    only: tuple[str, ...] | None = None,
    engine: Engine = Tsit5(),
) -> list[Simulated]:
    """Every fit and held-out entry (or the ids in ``only``), simulated."""
    comparisons = load_comparisons(config, split_path=split)
    if only is not None:
        comparisons = [c for c in comparisons if c.id in only]
    return [simulate_entry(c, model, engine=engine) for c in comparisons]


def _metric(c: Comparison, p: Point) -> str:
    band = FAMILIES[c.family].none_band
    if p.statistic == "responders_vs_nonresponders":
        what = "% higher in responders than non-responders"
    elif c.contrast and c.contrast[2] == "ratio":
        what = "% more than the second arm"
    elif c.contrast:
        what = "% change, difference of the arms"
    else:
        what = "% change from pre-dose"
    suffix = {
        None: "",
        "up": f" > +{band:g} (up)",
        "none": f" within ±{band:g} (no change)",
        "down": f" < -{band:g} (down)",
    }[p.direction]
    return f"{c.family}: {what}{suffix}"


def _arms(c: Comparison, p: Point) -> str:
    if c.contrast:
        return f"{c.contrast[0]} vs {c.contrast[1]}"
    arm = p.arm or next(iter(c.arms))
    return arm if c.species == "human" else f"{arm} -> {c.arm_labels[arm]}"


def _inside(p: Point, x: float | None) -> bool | None:
    if x is None or (p.lo is None and p.hi is None):
        return None
    return bool((p.lo is None or x >= p.lo) and (p.hi is None or x <= p.hi))


def rows(simulated: list[Simulated]) -> list[dict]:
    """One row per compared published value: ``study, kind, arms, time, metric, published, lo, hi, simulated,
    inside`` (``kind``: ``mechanism_fitted`` or ``mechanism_held_out``; ``inside`` is empty where the source
    gives no interval)."""
    out = []
    for s in simulated:
        c = s.comparison
        for p, x in zip(c.points, s.values, strict=True):
            out.append(
                {
                    "study": c.id,
                    "kind": c.kind,
                    "arms": _arms(c, p),
                    "time": p.time_label,
                    "metric": _metric(c, p),
                    "published": p.published,
                    "lo": p.lo,
                    "hi": p.hi,
                    "simulated": x,
                    "inside": _inside(p, x),
                }
            )
    return out


__all__ = ["Simulated", "rows", "simulate_entries", "simulate_entry"]
