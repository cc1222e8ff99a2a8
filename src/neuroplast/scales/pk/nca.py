"""Non-compartmental analysis (NCA) of a concentration-time curve, as pharmacometricians report it.

Cmax and Tmax from the samples; AUC(0-inf) by the linear-up / log-down trapezoidal rule to the
last sample plus ``C_last / lambda_z``; the terminal rate ``lambda_z`` by log-linear least squares
over the last quarter of the sampled concentrations (at least three points above zero).
"""

from __future__ import annotations

import math

import numpy as np


def auc_lin_up_log_down(ts, c) -> float:
    ts, c = np.asarray(ts, float), np.asarray(c, float)
    dt = np.diff(ts)
    c0, c1 = c[:-1], c[1:]
    lin = 0.5 * (c0 + c1) * dt
    down = (c1 < c0) & (c1 > 0) & (c0 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.where(down, (c0 - c1) * dt / np.log(np.where(down, c0 / np.where(down, c1, 1.0), 2.0)), lin)
    return float(np.sum(np.where(down, log, lin)))


def terminal_rate(ts, c, *, fraction: float = 0.25) -> float:
    """lambda_z (1/h) from the last ``fraction`` of the curve; NaN when it cannot be estimated."""
    ts, c = np.asarray(ts, float), np.asarray(c, float)
    tail = ts >= ts[-1] - fraction * (ts[-1] - ts[0])
    keep = tail & (c > 0)
    if keep.sum() < 3:
        return math.nan
    slope = np.polyfit(ts[keep], np.log(c[keep]), 1)[0]
    return -slope if slope < 0 else math.nan


def nca(ts, c) -> dict:
    """``cmax`` (input units), ``tmax_h``, ``auc`` (units x h, to infinity), ``terminal_half_life_h``."""
    ts, c = np.asarray(ts, float), np.asarray(c, float)
    i = int(np.argmax(c))
    lz = terminal_rate(ts, c)
    auc = auc_lin_up_log_down(ts, c)
    if np.isfinite(lz):
        auc += c[-1] / lz
    return {
        "cmax": float(c[i]),
        "tmax_h": float(ts[i]),
        "auc": float(auc),
        "terminal_half_life_h": float(math.log(2.0) / lz) if np.isfinite(lz) else None,
    }
