"""One figure per read-out family: each entry's simulated time course over its published points.

A panel per entry. Numbers are drawn with their 95 % interval; a verbal result as the region it allows: a band
``±none_band`` for "no change", an arrow from ``+none_band`` up (or ``−none_band`` down) for a direction; a window
spans its times. Built on ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot state).
"""

from __future__ import annotations

import io
import math

from matplotlib.figure import Figure

from .observe import FAMILIES
from .validate import Simulated

_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def _scale(end_h: float) -> tuple[float, str]:
    return (1.0, "h") if end_h <= 48.0 else (24.0, "d")


def family_figure(family: str, entries: list[Simulated]) -> bytes:
    """PNG bytes: one panel per entry of ``family``."""
    fam = FAMILIES[family]
    n = len(entries)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(max(4.6 * cols, 7.0), 3.4 * rows + 0.6), layout="constrained")
    fig.suptitle(f"{fam.label}\nsimulated (lines; x: the compared value) vs published (black)", fontsize=10)
    for k, s in enumerate(entries):
        ax = fig.add_subplot(rows, cols, k + 1)
        c = s.comparison
        div, unit = _scale(float(s.times_h[-1]))
        t = s.times_h / div
        for i, (label, curve) in enumerate(s.curves.items()):
            ax.plot(t, curve, color=_COLOURS[i % len(_COLOURS)], lw=1.4, label=label)
        for p, x in zip(c.points, s.values, strict=True):
            colour = _COLOURS[list(s.curves).index(p.arm) % len(_COLOURS)] if p.arm in s.curves else "black"
            t0, t1 = p.window_h if p.window_h else (float(p.t_h or 0.0), float(p.t_h or 0.0))
            t0, t1 = t0 / div, t1 / div
            tm = 0.5 * (t0 + t1)
            if p.direction is None:
                if p.lo is not None and p.hi is not None:
                    ax.errorbar([tm], [p.published], yerr=[[p.published - p.lo], [p.hi - p.published]], fmt="o",
                                color="black", capsize=3, zorder=5)  # fmt: skip
                else:
                    ax.plot([tm], [p.published], "D", color="black", zorder=5)
            elif p.direction == "none":
                lo, hi = float(p.lo or 0.0), float(p.hi or 0.0)
                if t1 > t0:
                    ax.fill_between([t0, t1], [lo, lo], [hi, hi], color="0.6", alpha=0.4, zorder=1)
                else:
                    ax.errorbar([tm], [0.0], yerr=[[-(p.lo or 0.0)], [p.hi or 0.0]], fmt="_", color="black",
                                capsize=4, zorder=5)  # fmt: skip
            elif p.statistic is None:  # a group statistic is written on the panel instead
                sign = 1.0 if p.direction == "up" else -1.0
                tip = p.published + sign * 2.0 * abs(p.published)
                ax.plot([tm], [p.published], marker="^" if sign > 0 else "v", color=colour, ms=7, ls="", zorder=5)
                ax.plot([tm], [tip], alpha=0.0)  # keeps the arrow inside the axes' limits
                ax.annotate("", xy=(tm, tip), xytext=(tm, p.published),
                            arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.5}, zorder=5)  # fmt: skip
                if t1 > t0:
                    ax.hlines(p.published, t0, t1, color=colour, lw=1.5)
            if x is not None and p.statistic is None:
                ax.plot([tm], [x], "x", color=colour, ms=8, mew=2, zorder=6)
        ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)
        ax.set_title(f"{c.id} ({'fit' if c.kind.endswith('fitted') else 'held out'})", fontsize=8)
        ax.set_xlabel(f"time after the first dose ({unit})", fontsize=8)
        ax.set_ylabel("% change" if not c.contrast else "% (arm difference)", fontsize=8)
        ax.tick_params(labelsize=7)
        if len(s.curves) > 1 or c.contrast:
            ax.legend(fontsize=6, loc="best")
        if c.points and c.points[0].statistic:
            ax.text(0.02, 0.95, f"published: higher in responders at {c.points[0].time_label}\nsimulated: "
                    f"{'n/a' if s.values[0] is None else f'{s.values[0]:+.1f} %'} (up needs > +{c.points[0].lo:g} %)",
                    transform=ax.transAxes,
                    fontsize=7, va="top")  # fmt: skip
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def figures(simulated: list[Simulated]) -> dict[str, bytes]:
    """``{family: PNG bytes}``, one per family with at least one compared entry."""
    by_family: dict[str, list[Simulated]] = {}
    for s in simulated:
        by_family.setdefault(s.comparison.family, []).append(s)
    return {f: family_figure(f, entries) for f, entries in by_family.items()}


__all__ = ["family_figure", "figures"]
