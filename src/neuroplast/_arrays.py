"""Array idioms the model's equations are written with, kept apart from the equations themselves."""

from __future__ import annotations

UNROLL_MAX_EVENTS = 32
"""Event tables up to this many rows have their dose-input sum unrolled (:func:`sum_rows`); longer ones (a year of
daily pills read whole by the fast engine) keep one reduction, so compile does not grow with them."""


def sum_rows(term, n, whole):
    """``term(0) + ... + term(n - 1)`` over an event table's ``n`` rows, written out up to
    :data:`UNROLL_MAX_EVENTS` rows (XLA's CPU backend runs the same sum written as one reduction several times
    slower on these small shapes: docs/scale.md). A longer table: ``whole()``, the sum as one reduction."""
    if n > UNROLL_MAX_EVENTS:
        return whole()
    acc = term(0)
    for i in range(1, n):
        acc = acc + term(i)
    return acc
