"""Figure of the mood circuit: regional activity and functional-connectivity matrices at snapshot times.

Built on ``matplotlib.figure.Figure`` with no pyplot state (thread-safe, like :mod:`.figures`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from matplotlib.figure import Figure

from ..scales.circuits import LABELS, CircuitState, healthy_circuit, mood_circuit
from .png import figure_png

SHORT = {
    "dlpfc": "dlPFC",
    "sgacc": "sgACC",
    "vmpfc": "vmPFC",
    "hippocampus": "HPC",
    "amygdala": "AMY",
    "nacc": "NAc",
    "vta": "VTA",
    "ofc": "OFC",
    "caudate": "CAU",
    "thalamus": "THA",
}


def _label(hours: float) -> str:
    return f"{hours:g} h" if hours < 24.0 else f"{hours / 24.0:g} d"


def circuit_figure(
    state: CircuitState, *, patient: int = 0, labels: list[str] | None = None, healthy: CircuitState | None = None
) -> bytes:
    """PNG: one column per snapshot time — FC matrix (top), its change from the first time (middle),
    and regional activity beside health (bottom)."""
    ts = state.times_h
    names = labels or [_label(t) for t in ts]
    short = [SHORT.get(r, r) for r in state.regions]
    k = len(ts)
    fig = Figure(figsize=(3.3 * k + 1.2, 10.5), layout="constrained")
    fig.suptitle("Mood circuit: functional connectivity (correlation) and regional activity", fontsize=12)
    axes = fig.subplots(3, k, squeeze=False)
    assert state.fc is not None, "circuit_figure needs a CircuitState computed with with_fc=True"
    fc = state.fc[patient]
    change = fc - fc[0]
    lim = max(float(np.max(np.abs(change))), 1e-3)
    ticks = np.arange(len(short))
    im_fc = im_ch = None
    for c in range(k):
        ax = axes[0][c]
        im_fc = ax.imshow(fc[c], vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(f"FC at {names[c]}", fontsize=10)
        ax = axes[1][c]
        im_ch = ax.imshow(change[c], vmin=-lim, vmax=lim, cmap="PuOr_r")
        ax.set_title(f"change vs {names[0]}" if c else "(reference)", fontsize=10)
        for row in (0, 1):
            a = axes[row][c]
            a.set_xticks(ticks, short, rotation=90, fontsize=7)
            a.set_yticks(ticks, short, fontsize=7)
        ax = axes[2][c]
        act = state.activity[patient, c]
        ax.barh(ticks, act, color="C0", label="this time")
        if healthy is not None:
            ax.scatter(healthy.activity[0, 0], ticks, marker="|", s=120, color="black", label="healthy", zorder=3)
        ax.set_yticks(ticks, short, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("activity (fraction of maximal rate)", fontsize=8)
        ax.set_title(f"activity at {names[c]}", fontsize=10)
        if c == 0:
            ax.legend(fontsize=7, loc="lower right")
    assert im_fc is not None and im_ch is not None  # k >= 1: fc[0] above fails on no times
    fig.colorbar(im_fc, ax=list(axes[0]), shrink=0.8, label="correlation")
    fig.colorbar(im_ch, ax=list(axes[1]), shrink=0.8, label="change in correlation")
    return figure_png(fig)


def report_snapshot_times(times_h: np.ndarray, first_dose_h: float = 0.0) -> list[float]:
    """Snapshot times for a single-patient report: before the first dose, 1 day and 7 days after it
    (those inside the run), else the start, middle and end."""
    lo, hi = float(times_h[0]), float(times_h[-1])
    want = [lo] + [first_dose_h + h for h in (24.0, 168.0) if lo < first_dose_h + h <= hi]
    return want if len(want) > 1 else sorted({lo, 0.5 * (lo + hi), hi})


def simulation_circuit_figure(sim) -> bytes | None:
    """The circuit figure of the first patient of a simulation at :func:`report_snapshot_times`."""

    ok = np.flatnonzero(sim.ok)
    if "spine_density" not in sim.readouts or len(sim.times_h) < 2 or ok.size == 0:
        return None
    one = SimpleNamespace(times_h=sim.times_h, readouts={k: np.asarray(v)[ok[:1]] for k, v in sim.readouts.items()})
    t0 = min((e.time_h for e in sim.regimen.events), default=0.0)
    at = report_snapshot_times(np.asarray(sim.times_h), t0)
    return circuit_figure(mood_circuit(one, at), healthy=healthy_circuit())


__all__ = ["LABELS", "circuit_figure", "report_snapshot_times", "simulation_circuit_figure"]
