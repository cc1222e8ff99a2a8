"""The fast engine's time base, built once per regimen on the host (NumPy).

The engine's steps are ``base_h * 2**k`` long for an integer class ``k`` chosen by its step-size
controller, so a patient's exact linear (PK) propagators are needed for a handful of step lengths
only, each from the previous one by doubling (:mod:`.linear`). Every discontinuity of the vector
field — each dose's start and end, each clinic session's end (a model parameter) — and the end
time are whole multiples of ``base_h``: the engine counts time in units of ``base_h`` (integers),
and a step never crosses the next discontinuity, so each is a step boundary, never inside a step.
Save times need not be: the engine interpolates them (cubic Hermite on the step that contains them).

Times are handled in integer milliseconds to find the base: ``base_h`` is the largest whole
fraction (``gcd / m`` for an integer ``m``, in whole milliseconds) of the greatest common divisor of
all discontinuities that is no longer than ``min_h`` (the engine's shortest step): for six 40-min
infusions on whole days the gcd is 40 min and the base 5 s. Boundaries are rounded to the
millisecond (an error below 0.5 ms). (Halving the gcd instead fell to 1 ms whenever it had an odd
factor above ``min_h`` — 40 min halves to 9.375 s — and 1 ms needs 28 step classes instead of 15
for a day-long step, and extra steps to land on every discontinuity.)
"""

from __future__ import annotations

import dataclasses

import numpy as np

TICKS_PER_H = 3_600_000  # 1 ms


@dataclasses.dataclass(frozen=True)
class TimeBase:
    base_h: float  # the shortest step, h
    marks_u: np.ndarray  # (M,) int64: 0, every discontinuity and the end, in units of base_h, sorted, unique
    end_u: int  # the end time (the last save time) in units of base_h


def _ticks(t) -> np.ndarray:
    return np.rint(np.asarray(t, dtype=float) * TICKS_PER_H).astype(np.int64)


def time_base(saveat, starts, ends, session_ends, *, min_h: float) -> TimeBase:
    """The time base for save times ``saveat`` and inputs on over ``[starts, ends)`` (hours).

    ``session_ends``: further discontinuities of the vector field (clinic sessions that outlast
    their dose). The end time is the last save time (at least 1 ms); discontinuities after it are
    dropped.
    """
    t_end = max(int(_ticks(saveat).max()), 1)
    marks = np.concatenate([[0, t_end], _ticks(starts), _ticks(ends), _ticks(session_ends)])
    marks = np.unique(marks[(marks >= 0) & (marks <= t_end)])
    base = int(np.gcd.reduce(marks[marks > 0]))
    fine = max(1, int(round(min_h * TICKS_PER_H)))
    if base > fine:  # the largest divisor of the gcd that is at most the shortest step (1 ms at worst)
        d = np.arange(fine, 0, -1, dtype=np.int64)
        base = int(d[base % d == 0][0])
    return TimeBase(base_h=base / TICKS_PER_H, marks_u=(marks // base).astype(np.int64), end_u=int(t_end // base))
