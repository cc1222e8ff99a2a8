"""Booster plans: the fewest maintenance doses that keep a target, under the clinic's constraints.

A plan is a list of future dose times; each dose repeats the last dose given (drug, route, amount,
duration). Doses fall on daily slots at the clinic's hour (the time of day of the last dose given,
09:00 if none), on weekdays only if asked, at least ``min_days`` after any other dose.

Target: the true score on the target instrument stays below the threshold on every daily check of
the *evaluation window* — from one day after the earliest possible booster to the end of the
horizon — with at least the target probability (share of posterior draws). Earlier days cannot be
changed by any plan, so every plan is judged on the same window.

Search (greedy, "just in time"): simulate the plan so far; find the day by which the target's
allowance of failures (1 − probability) is used up; put a booster on the latest allowed slot at
least 12 h before that day (the earliest allowed slot if none); repeat until the target is met,
no slot is left, or a booster raises neither the probability, nor the time of failure, nor the share
of days kept below the threshold (by half a point). Because each booster goes as late as the target
allows, the plan uses few doses; it is compared with fixed plans (weekly, every 2 weeks, none).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np


@dataclasses.dataclass(frozen=True)
class Constraints:
    weekdays_only: bool = True
    min_days: float = 7.0  # minimum days between infusions (given or planned)


def slots(
    now: dt.datetime, end: dt.datetime, *, hour: dt.time, tz: dt.tzinfo, weekdays_only: bool
) -> list[dt.datetime]:
    """Daily candidate times at the clinic hour after ``now`` up to ``end`` (local dates)."""
    local_now = now.astimezone(tz)
    day = local_now.date()
    out: list[dt.datetime] = []
    while True:
        t = dt.datetime.combine(day, hour, tzinfo=tz)
        if t > end:
            return out
        if t > now and (not weekdays_only or t.weekday() < 5):
            out.append(t)
        day += dt.timedelta(days=1)


def allowed(t: dt.datetime, doses: list[dt.datetime], min_days: float) -> bool:
    return all(abs((t - d).total_seconds()) >= min_days * 86400.0 - 1.0 for d in doses)


def fixed_plan(
    every_days: float, candidates: list[dt.datetime], given: list[dt.datetime], min_days: float
) -> list[dt.datetime]:
    """Every ``every_days`` days from the first allowed slot, each moved to the next allowed slot."""
    plan: list[dt.datetime] = []
    due = None
    for t in candidates:
        if due is not None and t < due:
            continue
        if allowed(t, given + plan, min_days):
            plan.append(t)
            due = t + dt.timedelta(days=every_days) - dt.timedelta(hours=1)
    return plan


def greedy(
    evaluate,
    candidates: list[dt.datetime],
    given: list[dt.datetime],
    constraints: Constraints,
    probability: float,
    hours_of,
    max_doses: int | None = None,
) -> tuple[list[dt.datetime], float, list[dict]]:
    """Greedy booster search.

    ``evaluate(plan) -> (p_met, first_violation_h, share_of_days_met)``: the share of draws meeting the
    target, each draw's first violating time (h, inf if none) and the share of draw-days below the
    threshold; ``hours_of(datetime) -> h`` on the same clock.
    """
    plan: list[dt.datetime] = []
    p, viol, days_met = evaluate(plan)
    trace = [{"doses": 0, "probability_target_met": p}]
    max_doses = len(candidates) if max_doses is None else max_doses
    while p < probability and len(plan) < max_doses:
        # the time by which a share (1 - probability) of the draws has failed
        deadline = _deadline(viol, probability)
        if not np.isfinite(deadline):
            break
        ok = [t for t in candidates if allowed(t, given + plan, constraints.min_days)]
        if not ok:
            break
        before = [t for t in ok if hours_of(t) <= deadline - 12.0]
        pick = before[-1] if before else ok[0]
        trial = sorted(plan + [pick])
        p_new, viol_new, days_new = evaluate(trial)
        later = _deadline(viol_new, probability) > deadline + 1e-6
        if p_new <= p + 1e-9 and not later and days_new <= days_met + 0.005:
            break  # the booster raised neither the probability, nor the time of failure, nor the days kept
        plan, p, viol, days_met = trial, p_new, viol_new, days_new
        trace.append({"doses": len(plan), "probability_target_met": p})
        if p >= probability:
            break
    return plan, p, trace


def _deadline(viol, probability: float) -> float:
    times = np.sort(np.asarray(viol, float))
    return float(times[min(int(np.floor((1.0 - probability) * times.size)), times.size - 1)])


__all__ = ["Constraints", "allowed", "fixed_plan", "greedy", "slots"]
