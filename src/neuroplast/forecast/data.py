"""From a :class:`PatientHistory` to the arrays the solver and the likelihood take.

Time origin: the earliest record of the history (hours from it). Before its first dose the model
sits in its drug-free steady state, so a history should start at or before the first infusion of
the current course (a pre-treatment baseline score is ideal).
Shapes are padded to buckets (observations 16, doses 16, grid 512) so one compiled function
serves many histories and plans.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..io.history import DoseRecord, PatientHistory
from ..regimen import Regimen, build_regimen
from ..scales.symptoms import crosswalk
from .patient import SolverSettings, grid, reference


def _bucket(n: int, step: int) -> int:
    return max(step, -(-n // step) * step)


@dataclasses.dataclass(frozen=True)
class PlannedDose:
    """A future dose of a plan: the template of the last dose given, at ``time``."""

    time: dt.datetime
    drug: str
    route: str
    amount: str
    duration: str


@dataclasses.dataclass(frozen=True)
class Timeline:
    t0: dt.datetime  # time origin (aware)
    tz: dt.tzinfo  # the clinic's offset, taken from the history's last record

    def hours(self, t: dt.datetime) -> float:
        return (t - self.t0).total_seconds() / 3600.0

    def at(self, hours: float) -> dt.datetime:
        return (self.t0 + dt.timedelta(hours=float(hours))).astimezone(self.tz)

    def iso(self, hours: float) -> str:
        return self.at(hours).isoformat(timespec="minutes")


def timeline(history: PatientHistory) -> Timeline:
    times = [o.time for o in history.observations] + [d.time for d in history.doses]
    last = max(times)
    return Timeline(min(times), last.tzinfo or dt.UTC)


def regimen(tl: Timeline, doses, *, allow_high_dose: bool = True) -> Regimen | None:
    """The library regimen of given and planned doses (times in h from the origin); None if no dose."""
    rows = [
        {
            "drug": d.drug,
            "route": d.route,
            "amount": d.amount,
            "at": [f"{tl.hours(d.time):.6f} h"],
            **({"duration": d.duration} if d.duration else {}),
        }
        for d in doses
    ]
    if not rows:
        return None
    return build_regimen(rows, field="history.dose", allow_high_dose=allow_high_dose)


class Solve(eqx.Module):
    """Everything one plan's solve needs, padded: the grid, the reference states on it, the event table."""

    ts: jnp.ndarray  # (G_pad,) h from the origin; padding repeats the last time (zero-length steps)
    ref: jnp.ndarray  # (G_pad, n_states)
    events: jnp.ndarray  # (n_ev_pad, 4) the library's event table


def prepare(
    population_model,
    cohort,
    tl: Timeline,
    doses,
    weight_kg: float,
    t_end: float,
    extra_h,
    settings=None,
    max_h: float = np.inf,
) -> tuple[Solve, np.ndarray]:
    """The :class:`Solve` of a dose list up to ``t_end`` (h) and the grid index of each time in ``extra_h``."""
    return prepare_shared(population_model, cohort, tl, doses, weight_kg, [(t_end, extra_h)], settings, max_h)[0]


def prepare_shared(
    population_model, cohort, tl: Timeline, doses, weight_kg: float, spans, settings=None, max_h: float = np.inf
) -> list[tuple[Solve, np.ndarray]]:
    """One :class:`Solve` per ``(t_end, extra_h)`` in ``spans`` for the same dose list, from ONE reference
    solve on the union of their grids (each grid is a subset of the union, so the values are identical to
    separate solves up to the adaptive solver's tolerance; saves a front-door solve per extra span)."""

    settings = settings or SolverSettings()
    reg = regimen(tl, doses)
    jumps = reg.jump_times if reg is not None else np.zeros(0)
    grids = []
    for t_end, extra_h in spans:
        extra = np.round(np.asarray(extra_h, float), 9)
        grids.append((grid(t_end, jumps[jumps <= t_end], extra, settings, max_h), extra))
    union = np.unique(np.concatenate([g for g, _ in grids]))
    ref_all = reference(population_model, cohort, reg, union)
    if reg is None:
        ev = np.zeros((16, 4))
        ev[:, 0] = ev[:, 1] = 1e12
    else:
        ev = reg.event_array(np.array([weight_kg]), _bucket(len(reg.events), 16))[0]
    out = []
    for ts, extra in grids:
        ref = ref_all[np.searchsorted(union, ts)]
        n = ts.size
        g_pad = _bucket(n, 512)
        ts_p = np.concatenate([ts, np.full(g_pad - n, ts[-1])])
        ref_p = np.concatenate([ref, np.repeat(ref[-1:], g_pad - n, axis=0)])
        out.append((Solve(jnp.asarray(ts_p), jnp.asarray(ref_p), jnp.asarray(ev)), np.searchsorted(ts, extra)))
    return out


class Observed(eqx.Module):
    """Observed scores, padded: ``mask`` marks real ones; ``idx`` points into the solve grid."""

    idx: jnp.ndarray
    y: jnp.ndarray
    codes: jnp.ndarray  # instrument codes (crosswalk.code)
    mask: jnp.ndarray


def observation_hours(tl: Timeline, history: PatientHistory) -> np.ndarray:
    return np.array([tl.hours(o.time) for o in history.observations])


def observed(history: PatientHistory, idx: np.ndarray, *, upto: int | None = None) -> Observed:
    """Scores of the history (the first ``upto`` if given) at grid indices ``idx`` (one per observation)."""
    obs = history.observations if upto is None else history.observations[:upto]
    n = len(obs)
    n_pad = _bucket(n, 16)
    idx = np.concatenate([np.asarray(idx[:n], int), np.full(n_pad - n, int(idx[n - 1]))])
    y = np.concatenate([[o.score for o in obs], np.zeros(n_pad - n)])
    codes = np.concatenate([[crosswalk.code(o.instrument) for o in obs], np.zeros(n_pad - n, int)]).astype(np.int32)
    return Observed(
        jnp.asarray(idx, dtype=jnp.int32), jnp.asarray(y), jnp.asarray(codes), jnp.asarray(np.arange(n_pad) < n)
    )


def booster_template(history: PatientHistory) -> DoseRecord | None:
    return history.doses[-1] if history.doses else None


__all__ = [
    "Observed",
    "PlannedDose",
    "Solve",
    "Timeline",
    "observation_hours",
    "observed",
    "prepare",
    "prepare_shared",
    "regimen",
    "timeline",
]
