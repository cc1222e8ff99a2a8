"""From a simulation's read-outs to a condition's symptom score (numpy, after the solve).

Read-outs are ``{name: (patients, times)}`` arrays (``Simulation.readouts``); the first saved time
must be before the first dose (trial save grids start at 0 h). A read-out dict without the
plasticity read-outs (a screening visit) is the untreated baseline: activity 1, no expectancy.
"""

from __future__ import annotations

import numpy as np

from ..scales.circuits import subcircuit_activity as hook

KINDS = ("fear", "reward", "compulsion", "prefrontal")
"""Sub-circuits: the three hooks of the region rate model, and the prefrontal deficit itself."""


def prefrontal_deficit(readouts: dict) -> np.ndarray:
    """Prefrontal connectivity deficit, (patients, times): healthy 0, the patient's baseline 1.

    ``(1 - c) / (1 - c_0)`` with ``c = spine_density + potentiation`` (fractions of healthy) and
    ``c_0`` at the first saved time: the quantity the depression mood state relaxes to (mood.py).
    """
    c = np.asarray(readouts["spine_density"], dtype=float) + np.asarray(readouts.get("potentiation", 0.0), dtype=float)
    return np.maximum(1.0 - c, 0.0) / np.maximum(1.0 - c[:, :1], 1e-9)


def subcircuit_activity(readouts: dict, kind: str, values: dict | None = None) -> np.ndarray:
    """Activity of a sub-circuit, (patients, times): healthy 0, the patient's untreated baseline 1.

    ``fear`` (amygdala under vmPFC and hippocampal control), ``reward`` (NAc/VTA under prefrontal
    control) and ``compulsion`` (OFC-caudate-thalamus) come from the region rate model of
    :mod:`neuroplast.scales.circuits` (its ``subcircuit_activity`` hook, evaluated on the plasticity
    read-outs, baseline = the first saved time); ``prefrontal`` is :func:`prefrontal_deficit` (used by
    pain and the mania switch term, which have no sub-circuit of their own in the rate model).
    A read-out dict without ``spine_density`` (a screening visit) is the untreated baseline: 1.
    A dict may carry the activity precomputed under ``subcircuit_<kind>`` (see :func:`with_subcircuits`).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown sub-circuit {kind!r}; known: {KINDS}")
    if "spine_density" not in readouts:
        ref = next(iter(readouts.values()))
        return np.ones(np.shape(ref))
    if f"subcircuit_{kind}" in readouts:  # precomputed (the calibration evaluates the hook once per arm)
        return np.asarray(readouts[f"subcircuit_{kind}"], dtype=float)
    if kind == "prefrontal":
        return prefrontal_deficit(readouts)

    try:
        return np.asarray(hook(readouts, values=values)[kind], dtype=float)
    except RuntimeError:
        pass
    # Should the rate model's fixed point fail (it did for ~1 patient in 300 far above healthy connectivity
    # before 8e22abf), that patient alone gets the prefrontal deficit, so one patient never sinks a trial.
    out = prefrontal_deficit(readouts)
    for i in range(out.shape[0]):
        row = {k: np.asarray(v)[i : i + 1] for k, v in readouts.items() if np.ndim(v) == 2}
        try:
            out[i] = np.asarray(hook(row, values=values)[kind], dtype=float)[0]
        except RuntimeError:
            continue
    return out


def with_subcircuits(readouts: dict, values: dict | None = None) -> dict:
    """The read-outs plus every sub-circuit's activity under ``subcircuit_<kind>`` (computed once)."""
    return {**readouts, **{f"subcircuit_{k}": subcircuit_activity(readouts, k, values) for k in KINDS}}


def expectancy(readouts: dict) -> np.ndarray | float:
    return np.asarray(readouts["expectancy"], dtype=float) if "expectancy" in readouts else 0.0


def relief_factor(
    readouts: dict, kind: str, gain: float, expectancy_share: float, values: dict | None = None
) -> np.ndarray:
    """``(1 - share x expectancy) x max(0, 1 - gain (1 - a))``: 1 at baseline, 0 = no symptoms."""
    a = subcircuit_activity(readouts, kind, values)
    return (1.0 - expectancy_share * expectancy(readouts)) * np.maximum(1.0 - gain * (1.0 - a), 0.0)


def baseline(table, column: str) -> np.ndarray:
    """The patients' true baseline severity (cohort column), shape (patients, 1)."""
    return table[column].to_numpy(dtype=float)[:, None]


def score(readouts, table, column: str, kind: str, gain: float, expectancy_share: float, values: dict | None = None):
    """True score: baseline (cohort column) x the relief factor."""
    return baseline(table, column) * relief_factor(readouts, kind, gain, expectancy_share, values)


__all__ = [
    "KINDS",
    "baseline",
    "expectancy",
    "prefrontal_deficit",
    "relief_factor",
    "score",
    "subcircuit_activity",
    "with_subcircuits",
]
