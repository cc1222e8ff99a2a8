"""From a simulation's read-outs to a condition's symptom score (numpy, after the solve).

Read-outs are ``{name: (patients, times)}`` arrays (``Simulation.readouts``); the first saved time
must be before the first dose (trial save grids start at 0 h). A read-out dict without the
plasticity read-outs (a screening visit) is the untreated baseline: activity 1, no expectancy.
"""

from __future__ import annotations

import numpy as np

KINDS = ("fear", "reward", "compulsion", "prefrontal")


def subcircuit_activity(readouts: dict, kind: str) -> np.ndarray:
    """Activity of a sub-circuit, (patients, times): healthy 0, the patient's untreated baseline 1.

    The circuit level is a function of the prefrontal plasticity state (DESIGN §2.6): effective
    prefrontal connectivity ``c = spine_density + potentiation`` (fractions of healthy). Top-down
    control of the amygdala (fear: vmPFC, milad_quirk2012), of NAc/VTA (reward/habit) and of the
    OFC-striatum-thalamus loop (compulsion) is lost in proportion to the prefrontal deficit, so every
    sub-circuit's excess activity is taken as ``(1 - c) / (1 - c_0)``, ``c_0`` at the first saved time.

    Why not the region rate model of :mod:`neuroplast.scales.circuits`: it was not committed when
    these conditions were calibrated (see docs/conditions.md); its sub-circuits are normalised the same
    way (healthy 0, baseline 1), so it can replace this function without changing the parameters'
    meaning (the fit would have to be rerun).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown sub-circuit {kind!r}; known: {KINDS}")
    if "spine_density" not in readouts:
        ref = next(iter(readouts.values()))
        return np.ones(np.shape(ref))
    c = np.asarray(readouts["spine_density"], dtype=float) + np.asarray(readouts.get("potentiation", 0.0), dtype=float)
    deficit0 = np.maximum(1.0 - c[:, :1], 1e-9)
    return np.maximum(1.0 - c, 0.0) / deficit0


def expectancy(readouts: dict) -> np.ndarray | float:
    return np.asarray(readouts["expectancy"], dtype=float) if "expectancy" in readouts else 0.0


def relief_factor(readouts: dict, kind: str, gain: float, expectancy_share: float) -> np.ndarray:
    """``(1 - share x expectancy) x max(0, 1 - gain (1 - a))``: 1 at baseline, 0 = no symptoms."""
    a = subcircuit_activity(readouts, kind)
    return (1.0 - expectancy_share * expectancy(readouts)) * np.maximum(1.0 - gain * (1.0 - a), 0.0)


def baseline(table, column: str) -> np.ndarray:
    """The patients' true baseline severity (cohort column), shape (patients, 1)."""
    return table[column].to_numpy(dtype=float)[:, None]


def score(readouts, table, column: str, kind: str, gain: float, expectancy_share: float, per_unit: float = 1.0):
    """True score: baseline (cohort column) x ``per_unit`` x the relief factor."""
    return per_unit * baseline(table, column) * relief_factor(readouts, kind, gain, expectancy_share)


__all__ = ["KINDS", "baseline", "expectancy", "relief_factor", "score", "subcircuit_activity"]
