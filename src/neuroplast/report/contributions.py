"""Where relief comes from: one panel per arm, the change from baseline at each visit stacked by route.

Reads ``summary.json``'s ``contributions`` (:mod:`neuroplast.trials.contributions`): negative parts (relief)
stack downwards from 0, positive parts upwards; a black diamond marks the arm's ``mean_change``, which the parts
sum to.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..trials.contributions import KEYS
from .png import figure_png

COLOURS = {
    "plasticity": "#1b9e77",
    "expectancy": "#d95f02",
    "learning": "#7570b3",
    "natural_course": "#a6761d",
    "ssri_direct": "#e7298a",
    "rating": "#bbbbbb",
}
LABELS = {
    "plasticity": "plasticity (spines, potentiation)",
    "expectancy": "expectancy",
    "learning": "learning (therapy, practice)",
    "natural_course": "natural course",
    "ssri_direct": "direct SSRI route",
    "rating": "rater noise and rounding",
}


def contributions_figure(summary) -> bytes | None:
    """A PNG with one stacked bar chart per arm over its visits, or ``None`` when the trial has no
    contributions (a condition's scale)."""
    arms = {name: arm for name, arm in summary.arms.items() if any(tp.contributions for tp in arm.timepoints)}
    if not arms:
        return None
    fig = Figure(figsize=(10.0, 1.4 + 2.6 * len(arms)), layout="constrained")
    fig.suptitle(f"Where relief comes from\nchange from baseline by route, {summary.scale} points", fontsize=12)
    axes = fig.subplots(len(arms), 1, squeeze=False, sharey=True)[:, 0]
    lo, hi = 0.0, 0.0
    for ax, (name, arm) in zip(axes, arms.items(), strict=True):
        tps = [tp for tp in arm.timepoints if tp.contributions]
        x = np.arange(len(tps))
        up, down = np.zeros(len(tps)), np.zeros(len(tps))
        for key in KEYS:
            v = np.array([tp.contributions.get(key, math.nan) for tp in tps], dtype=float)
            v = np.nan_to_num(v)
            pos, neg = np.maximum(v, 0.0), np.minimum(v, 0.0)
            ax.bar(x, pos, bottom=up, color=COLOURS[key], width=0.6)
            ax.bar(x, neg, bottom=down, color=COLOURS[key], width=0.6)
            up, down = up + pos, down + neg
        lo, hi = min(lo, float(down.min())), max(hi, float(up.max()))
        ax.plot(x, [tp.mean_change for tp in tps], "D", color="black", ms=6, zorder=5)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xticks(x, [tp.time for tp in tps])
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_ylabel("change (points)")
    pad = 0.06 * max(hi - lo, 1.0)  # stacked bars keep no margin of their own beyond their bases
    axes[0].set_ylim(lo - pad, hi + pad)
    handles = [Patch(color=COLOURS[k], label=LABELS[k]) for k in KEYS]
    handles.append(
        axes[0].plot([], [], "D", color="black", label="mean change (the sum)")[0]  # legend entry only
    )
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    return figure_png(fig)


__all__ = ["contributions_figure"]
