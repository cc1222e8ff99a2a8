"""The fast engine's time grid, built once per regimen on the host (NumPy).

Every step has length ``base_h * 2**k`` for an integer class ``k``, so a patient's exact linear
(PK) propagators are needed for a handful of step lengths only, and each comes from the previous
one by doubling (:mod:`.linear`). The grid

* contains every discontinuity — each dose's start and end, each clinic session's end (a model
  parameter), every save time and the end time — as a step boundary, never inside a step;
* is fine (``fine_h``) while an input is on and grows linearly with the time since the last input
  ended (``fine_h + growth * elapsed``), up to ``coarse_h``: the fast PD responses (glutamate,
  BDNF, mTORC1 over minutes to hours) follow a dose, the slow ones (spines, mood, weeks) do not
  need short steps;
* is padded with zero-length steps (class ``n_classes``: the identity) to a multiple of
  ``pad_to`` steps, so one compiled function serves every regimen of similar length.

Times are handled in integer milliseconds so that every boundary is exactly a multiple of
``base_h``: ``base_h`` is the greatest common divisor of all boundaries, halved until it is no
longer than ``fine_h``. Boundaries are rounded to the millisecond (an error below 0.5 ms).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

TICKS_PER_H = 3_600_000  # 1 ms


@dataclasses.dataclass(frozen=True)
class Grid:
    t0: np.ndarray  # (N,) step start, h
    h: np.ndarray  # (N,) step length, h (0 for padding)
    cls: np.ndarray  # (N,) int32, step class: h = base_h * 2**cls; n_classes marks padding
    save_row: np.ndarray  # (len(saveat),) int32, row of [initial state; state after each step] at each save time
    base_h: float
    n_classes: int
    n_steps: int  # steps before padding


def _ticks(t) -> np.ndarray:
    return np.rint(np.asarray(t, dtype=float) * TICKS_PER_H).astype(np.int64)


def build_grid(saveat, starts, ends, session_ends, *, fine_h: float, coarse_h: float, growth: float,
               pad_to: int = 512, classes_pad_to: int = 4) -> Grid:
    """The step table for save times ``saveat`` and inputs on over ``[starts, ends)`` (hours).

    ``session_ends``: further discontinuities of the vector field (clinic sessions that outlast
    their dose). The end time is the last save time (at least 1 ms).
    """
    save = _ticks(saveat)
    t_end = max(int(save.max()), 1)
    st, en = _ticks(starts), _ticks(ends)
    marks = np.concatenate([[0, t_end], save, st, en, _ticks(session_ends)])
    marks = np.unique(marks[(marks >= 0) & (marks <= t_end)])
    g = int(np.gcd.reduce(marks[marks > 0])) if np.any(marks > 0) else 1
    fine = max(1, int(round(fine_h * TICKS_PER_H)))
    base = g
    while base > fine and base % 2 == 0:
        base //= 2
    if base > fine:  # an odd gcd above the fine step: the millisecond itself (more, shorter remainder steps)
        base = 1
    coarse = max(base, int(round(coarse_h * TICKS_PER_H)))
    k_coarse = int(math.floor(math.log2(coarse / base)))
    grow = float(growth)

    t0s, ks = [], []
    for a, b in zip(marks[:-1], marks[1:]):
        t = int(a)
        while t < b:
            active = np.any((st <= t) & (en > t))
            done = en[en <= t]
            if active:
                target = fine
            elif done.size == 0:
                target = coarse
            else:
                target = int(fine + grow * (t - int(done.max())))
            lim = max(base, min(target, coarse, int(b) - t))
            k = min(int(math.floor(math.log2(lim / base))), k_coarse)
            # the step must fit: base * 2**k <= b - t (all boundaries are multiples of base)
            while base << k > b - t:
                k -= 1
            t0s.append(t)
            ks.append(k)
            t += base << k
    n = len(t0s)
    n_pad = max(pad_to, -(-n // pad_to) * pad_to)
    n_cls = max(ks, default=0) + 1
    n_cls = -(-n_cls // classes_pad_to) * classes_pad_to
    t0 = np.full(n_pad, t_end, dtype=np.int64)
    t0[:n] = t0s
    cls = np.full(n_pad, n_cls, dtype=np.int32)
    cls[:n] = ks
    h = np.where(cls < n_cls, base * (2 ** np.minimum(cls, 62)).astype(np.int64), 0)
    h[n:] = 0
    # row of [initial state; state after each step] holding each save time
    ends_at = (t0 + h)[:n]
    row = np.searchsorted(ends_at, save) + 1
    row[save == 0] = 0
    assert np.all(np.where(save == 0, True, ends_at[np.minimum(row - 1, n - 1)] == save)), "save time off the grid"
    return Grid(t0=t0 / TICKS_PER_H, h=h / TICKS_PER_H, cls=cls, save_row=row.astype(np.int32),
                base_h=base / TICKS_PER_H, n_classes=n_cls, n_steps=n)
