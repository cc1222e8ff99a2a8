"""Safety read-outs of the conditions, added to each arm's ``safety`` block of ``summary.json`` (new keys only).

Bipolar depression: the switch-to-mania read-out YMRS (:func:`.bipolar_depression.ymrs`). Keys, over
patients who finished (``ok``): ``ymrs_peak_mean`` (mean of each patient's highest true YMRS),
``ymrs_largest_mean_rise`` (largest rise of the arm's mean over baseline), ``share_ymrs_above_12``
(true YMRS >= 12, hypomanic symptoms, at any saved time) and ``share_mania_switch`` (YMRS >= 12 at
any saved time from 24 h after the first dose on: beyond the infusion's acute activation).
Per patient (``patients.parquet``): ``ymrs_peak``, ``mania_switch``.
"""

from __future__ import annotations

import numpy as np

from .bipolar_depression import HYPOMANIA, ymrs


def extra_safety(sim, ok, values: dict, summary: dict, per_patient: dict) -> None:
    """Add the condition safety keys of ``sim`` to ``summary`` and ``per_patient`` (in place; new keys only)."""
    table = sim.cohort.table
    if "baseline_ymrs_true" not in table:
        return
    y = np.asarray(ymrs(sim.readouts, table, values))
    ts = np.asarray(sim.times_h)
    late = ts >= ts[0] + 24.0
    peak = y.max(axis=1)
    # any(axis=1) of a 2-D array is an array; numpy's stubs also allow a scalar, hence asarray (a no-op here)
    switch = np.asarray((y[:, late] >= HYPOMANIA).any(axis=1)) if late.any() else np.zeros(len(y), bool)
    new = {"ymrs_peak": peak, "mania_switch": switch}
    for k, v in new.items():
        if k in per_patient:
            raise KeyError(f"safety key {k!r} already present")
        per_patient[k] = v
    keys: dict[str, float | None]
    if not ok.any():
        keys = {
            "ymrs_peak_mean": None,
            "ymrs_largest_mean_rise": None,
            "share_ymrs_above_12": None,
            "share_mania_switch": None,
        }
    else:
        keys = {
            "ymrs_peak_mean": float(peak[ok].mean()),
            "ymrs_largest_mean_rise": float((y[ok] - y[ok, :1]).mean(axis=0).max()),
            "share_ymrs_above_12": float((peak[ok] >= HYPOMANIA).mean()),
            "share_mania_switch": float(switch[ok].mean()),
        }
    for k, v in keys.items():
        if k in summary:
            raise KeyError(f"safety key {k!r} already present")
        summary[k] = v


__all__ = ["extra_safety"]
