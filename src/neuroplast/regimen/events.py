"""The regimen is data: a sorted tuple of :class:`Dose` events (times in h from the first dose).

Repeats (``at = [...]`` or ``start``/``every``/``count``) are expanded eagerly when the
regimen is built; per-patient infusion rates (umol/h) are made by :meth:`Regimen.event_array`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .._errors import NeuroplastInputError
from .._units import NG_PER_UMOL, parse_amount, parse_quantity
from ..catalog import CLINIC_DRUGS, DRUG_CODES, EVENT, ROUTE_CODES
from ..catalog import DRUGS as DRUG_TABLE
from ..catalog import THERAPIES as THERAPY_TABLE
from ..parameters import default_model
from .guardrails import check_ceiling, check_window

DRUGS = tuple(DRUG_TABLE)
ROUTES = {name: d.routes for name, d in DRUG_TABLE.items()}
"""Drugs and the routes modelled for each (:data:`neuroplast.catalog.DRUGS`)."""

DAILY_DRUGS = tuple(name for name, d in DRUG_TABLE.items() if d.daily)
"""Taken every day at home: a dose entry must repeat (``every``) at most daily."""

THERAPIES = {name: t.session_h for name, t in THERAPY_TABLE.items()}
"""Session kinds and their default length (h): :data:`neuroplast.catalog.THERAPIES`."""

MAX_TRIAL_H = 5 * 365.25 * 24.0
"""Longest trial simulated without ``allow_long = true`` (5 years)."""

MAX_EVENTS = 20_000
"""Most doses and sessions in one regimen (an arm, a patient's history, a NONMEM ID): a daily tablet for 50 years.
Checked before a schedule is expanded, so a huge ``count`` or ``ADDL`` is refused at once."""

KNOWN_ROUTES = tuple(ROUTE_CODES)

ESKETAMINE_DEVICE_MG = 28.0
ESKETAMINE_DEVICE_GAP_H = 5.0 / 60.0
"""Esketamine nasal spray: 28 mg devices, one device every 5 minutes (Spravato label)."""

BOLUS_H = 1.0 / 60.0
"""Default administration time of a non-IV dose (a spray, an injection, a tablet): 1 min."""


@dataclasses.dataclass(frozen=True)
class Dose:
    time_h: float
    duration_h: float
    amount: float
    unit: str  # "mg/kg" | "mg"
    drug: str
    route: str = "iv"

    def amount_mg(self, weight_kg):
        return self.amount * weight_kg if self.unit == "mg/kg" else self.amount * np.ones_like(weight_kg)


@dataclasses.dataclass(frozen=True)
class Session:
    """A therapy or lifestyle session (:data:`neuroplast.catalog.THERAPIES`): it is on, with intensity 1, from
    ``time_h`` for ``duration_h``."""

    time_h: float
    duration_h: float
    kind: str


@dataclasses.dataclass(frozen=True)
class Regimen:
    """Drug doses and therapy sessions, each sorted by time (h from the first event)."""

    doses: tuple[Dose, ...]
    sessions: tuple[Session, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "doses", tuple(sorted(self.doses, key=lambda d: d.time_h)))
        object.__setattr__(self, "sessions", tuple(sorted(self.sessions, key=lambda s: s.time_h)))

    @property
    def events(self) -> tuple[Dose | Session, ...]:
        """Every dose and session in time order (a session first where one starts with a dose): the rows of
        :meth:`event_array`."""
        return tuple(sorted((*self.sessions, *self.doses), key=lambda e: e.time_h))

    @property
    def last_dose_h(self) -> float:
        """The last drug dose (relapse is counted from it); the last session when the arm has no drug."""
        return max([d.time_h for d in self.doses] or [s.time_h for s in self.sessions], default=0.0)

    def clinic_visits(self) -> tuple[tuple[Dose, ...], ...]:
        """The doses of clinic drugs grouped into visits: every dose starting within 1 h of a visit's first is part
        of it (nasal devices 5 min apart, a split infusion); a later dose starts a new visit (the shortest dosing
        interval in the examples is 1 d)."""
        visits: list[list[Dose]] = []
        for d in self.doses:
            if d.drug in CLINIC_DRUGS:
                if visits and d.time_h < visits[-1][0].time_h + 1.0:
                    visits[-1].append(d)
                else:
                    visits.append([d])
        return tuple(tuple(v) for v in visits)

    @property
    def jump_times(self) -> np.ndarray:
        """Times where the inputs switch, with the registry's clinic-session length (see :meth:`discontinuities`)."""
        return self.discontinuities(default_model().quantity("session_min", "h"))

    def discontinuities(self, hold_h: float) -> np.ndarray:
        """Times where the model's inputs switch, for the solver to stop at: every dose and session starts and
        ends, and a drug dose's expectancy input (a monitored session, a pill taken) ends ``hold_h`` after it
        starts. An adaptive step that straddles an unannounced switch samples it only at its stages."""
        return np.array(
            sorted(
                {t for e in self.events for t in (e.time_h, e.time_h + e.duration_h)}
                | {d.time_h + hold_h for d in self.doses}
            )
        )

    def event_array(self, weight_kg, n_events: int | None = None) -> np.ndarray:
        """(n_patients, n_events, 5) rows of :data:`neuroplast.catalog.EVENT`, one per event (:attr:`events`): a
        dose's rate in umol/h, a session's 1 while it lasts (its code is its kind's).

        Padding rows (beyond the regimen's events) start and end at +1e12 h: never active.
        """
        weight_kg = np.atleast_1d(np.asarray(weight_kg, dtype=float))
        events = self.events
        n_ev = len(events) if n_events is None else n_events
        out = np.zeros((weight_kg.size, max(n_ev, 1), EVENT.width))
        out[:, :, EVENT.start] = out[:, :, EVENT.end] = 1e12
        for i, e in enumerate(events):
            if isinstance(e, Session):  # intensity 1 while the session lasts
                umol, route, code = e.duration_h, 0, DRUG_CODES[e.kind]
            else:
                umol = 0.0 if DRUG_TABLE[e.drug].inert else e.amount_mg(weight_kg) * 1000.0 / NG_PER_UMOL[e.drug]
                route, code = ROUTE_CODES[e.route], DRUG_CODES[e.drug]
            out[:, i, EVENT.start] = e.time_h
            out[:, i, EVENT.end] = e.time_h + e.duration_h
            out[:, i, EVENT.rate] = umol / e.duration_h
            out[:, i, EVENT.code] = code
            out[:, i, EVENT.route] = route
        return out


def build_regimen(
    doses: list[dict],
    *,
    field: str = "arm.dose",
    allow_high_dose: bool = False,
    therapy: Sequence[dict] = (),
    therapy_field: str = "arm.therapy",
    allow_empty: bool = False,
    require_daily: bool = False,
) -> Regimen:
    """Build a regimen from dose dicts (and therapy-session dicts) in the trial-TOML shape (quantities as strings).

    ``allow_empty``: a no-treatment arm (wait list) has neither doses nor sessions. ``require_daily``: a trial's
    SSRI or placebo-pill entry must repeat at most daily (a dosing record of a dataset is one dose)."""

    sessions = _sessions(therapy, therapy_field)
    out: list[Dose] = []
    given: list[tuple[Dose, str]] = []  # each dose with the field it came from: the 24-h ceiling names it
    for i, d in enumerate(doses):
        f = f"{field}[{i}]"
        drug = d.get("drug")
        if drug not in DRUGS:
            raise NeuroplastInputError(f"unknown drug; known: {', '.join(DRUGS)}", field=f"{f}.drug", value=drug)
        route = d.get("route", "iv")
        if route not in ROUTES[drug]:
            hint = " (not modelled yet)" if route in KNOWN_ROUTES else ""
            raise NeuroplastInputError(
                f"unknown route for {drug}{hint}; known: {', '.join(ROUTES[drug])}", field=f"{f}.route", value=route
            )
        if "amount" not in d:
            raise NeuroplastInputError('missing dose amount, e.g. amount = "0.5 mg/kg"', field=f"{f}.amount")
        amount, unit = parse_amount(d["amount"], field=f"{f}.amount")
        if route == "iv":
            if "duration" not in d:
                raise NeuroplastInputError(
                    'missing infusion duration, e.g. duration = "40 min" (a bolus: "1 min")', field=f"{f}.duration"
                )
            duration = parse_quantity(d["duration"], "time", field=f"{f}.duration")
        else:
            duration = parse_quantity(d["duration"], "time", field=f"{f}.duration") if "duration" in d else BOLUS_H
        if duration <= 0:
            raise NeuroplastInputError(
                "the administration duration must be positive", field=f"{f}.duration", value=d.get("duration")
            )
        check_ceiling(drug, route, amount, unit, field=f"{f}.amount", allow_high_dose=allow_high_dose)
        if drug == "esketamine" and route == "intranasal":
            n_dev = _devices(amount, unit, f"{f}.amount", d["amount"])
            for t in _times(d, f, len(out) + len(sessions)):
                mine = [
                    Dose(t + k * ESKETAMINE_DEVICE_GAP_H, duration, ESKETAMINE_DEVICE_MG, "mg", drug, route)
                    for k in range(n_dev)
                ]
                out.extend(mine)
                given.extend((x, f"{f}.amount") for x in mine)
            continue
        times = _times(d, f, len(out) + len(sessions))
        if drug in DAILY_DRUGS and require_daily:
            every = parse_quantity(d["every"], "time", field=f"{f}.every") if "every" in d else None
            if every is None or every > 24.0 + 1e-9:
                raise NeuroplastInputError(
                    f'{drug} is taken daily: give the daily amount with start, every = "1 d" and count',
                    field=f"{f}.every",
                    value=d.get("every"),
                )
        for t in times:
            out.append(Dose(t, duration, amount, unit, drug, route))
            given.append((out[-1], f"{f}.amount"))
    check_window(given, allow_high_dose=allow_high_dose)
    if not out and not sessions and not allow_empty:
        raise NeuroplastInputError("an arm needs at least one dose", field=field)
    return Regimen(tuple(out), tuple(sessions))


def _sessions(therapy, field: str) -> list[Session]:
    """Therapy and lifestyle sessions of the ``[[arm.therapy]]`` entries."""

    out: list[Session] = []
    for j, s in enumerate(therapy):
        f = f"{field}[{j}]"
        kind = s.get("kind")
        if kind not in THERAPIES:
            raise NeuroplastInputError(
                f"unknown therapy kind; known: {', '.join(THERAPIES)}", field=f"{f}.kind", value=kind
            )
        length = parse_quantity(s["duration"], "time", field=f"{f}.duration") if "duration" in s else THERAPIES[kind]
        if not 0 < length <= 8.0:
            raise NeuroplastInputError(
                "a session lasts more than 0 and at most 8 h", field=f"{f}.duration", value=s.get("duration")
            )
        spec = {k: v for k, v in s.items() if k in ("start", "every", "count", "at")}
        mine = [Session(t, length, kind) for t in _times(spec, f, len(out))]
        if len(mine) > 1:
            starts = sorted(d.time_h for d in mine)
            if min(np.diff(starts)) < length - 1e-9:
                raise NeuroplastInputError(
                    f"{kind} sessions overlap: they are {min(np.diff(starts)):g} h apart but each lasts {length:g} h",
                    field=f"{f}.every",
                    value=s.get("every"),
                )
        for other in out:
            if other.kind == kind and any(abs(other.time_h - d.time_h) < length - 1e-9 for d in mine):
                raise NeuroplastInputError(
                    f"two {kind} sessions at the same time", field=f"{f}.start", value=s.get("start")
                )
        out.extend(mine)
    return out


def _devices(amount: float, unit: str, field: str, shown) -> int:
    """Number of 28 mg esketamine devices in a dose; only 28, 56 and 84 mg exist (Spravato label)."""
    n = amount / ESKETAMINE_DEVICE_MG
    if unit != "mg" or abs(n - round(n)) > 1e-9 or round(n) not in (1, 2, 3):
        raise NeuroplastInputError(
            "intranasal esketamine comes as 28 mg devices: give 28 mg, 56 mg or 84 mg", field=field, value=shown
        )
    return int(round(n))


def _times(d: dict, f: str, so_far: int = 0) -> list[float]:
    """The start times of one entry (``at``, or ``start``/``every``/``count``), in h; ``so_far``: the events of the
    regimen before it (their total is bounded by :data:`MAX_EVENTS` before anything is expanded)."""

    has_at = "at" in d
    has_repeat = any(k in d for k in ("start", "every", "count"))
    if has_at and has_repeat:
        raise NeuroplastInputError(
            "give either 'at' or 'start'/'every'/'count', not both", field=f"{f}.at", value=d["at"]
        )
    if has_at:
        at = d["at"]
        if not isinstance(at, list) or not at:
            raise NeuroplastInputError(
                "'at' must be a non-empty list of times, e.g. [\"0 d\"]", field=f"{f}.at", value=at
            )
        _bound(so_far + len(at), f"{f}.at", f"{len(at)} times")
        times = [parse_quantity(x, "time", field=f"{f}.at[{j}]") for j, x in enumerate(at)]
        for j, (x, t) in enumerate(zip(at, times)):
            if t < 0:
                raise NeuroplastInputError("a dose time must not be before 0", field=f"{f}.at[{j}]", value=x)
        return times
    if has_repeat:
        start = parse_quantity(d.get("start", "0 h"), "time", field=f"{f}.start")
        if start < 0:
            raise NeuroplastInputError("a dose time must not be before 0", field=f"{f}.start", value=d.get("start"))
        count = d.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise NeuroplastInputError("'count' must be a positive integer", field=f"{f}.count", value=count)
        _bound(so_far + count, f"{f}.count", count)
        every = parse_quantity(d["every"], "time", field=f"{f}.every") if "every" in d else 0.0
        if count > 1 and every <= 0:
            raise NeuroplastInputError(
                "'every' must be a positive time when count > 1", field=f"{f}.every", value=d.get("every")
            )
        return [start + k * every for k in range(count)]
    return [0.0]


def _bound(n: int, field: str, value) -> None:
    if n > MAX_EVENTS:
        raise NeuroplastInputError(
            f"more than {MAX_EVENTS} doses and sessions in one regimen; simulate a shorter span, or a less frequent "
            "schedule",
            field=field,
            value=value,
        )
