"""Static figures (PNG bytes) of a trial or a simulation, one per scale of the causal chain.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas directly, so no pyplot
state is touched and the functions are safe to call from a web server's threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, MultipleLocator, PercentFormatter
from scipy import stats

from ..catalog import READOUT_UNITS, READOUTS
from .circuits import simulation_circuit_figure
from .contributions import contributions_figure
from .png import figure_png
from .withdrawal import km_figure

if TYPE_CHECKING:
    from ..simulation import Simulation
    from ..trials import TrialResult

GROUPS = {  # figure key -> (title, readouts); "symptoms" and "safety" are drawn by their own functions
    "concentrations": (
        "Drug concentrations in plasma",
        (
            "ketamine_plasma",
            "s_ketamine_plasma",
            "r_ketamine_plasma",
            "norketamine_plasma",
            "hnk_plasma",
            "midazolam_plasma",
            "escitalopram_plasma",
            "sertraline_plasma",
            "duloxetine_plasma",
            "venlafaxine_plasma",
            "odv_plasma",
        ),
    ),
    "occupancy": ("Receptor occupancy", ("occupancy_pyramidal", "occupancy_interneuron", "sert_occupancy")),
    "signalling": ("Signalling: glutamate surge, BDNF, mTORC1", ("glutamate", "bdnf", "mtorc1")),
    "plasticity": ("Synaptic plasticity", ("spine_density", "potentiation")),
}
SAFETY = ("cadss", "sbp", "dbp", "heart_rate", "sedation")
SAFETY_WINDOW_H = 4.0
SBP_ALERTS = (160.0, 180.0)  # mmHg: the alert lines of trials.run's safety summary
LABELS = {name: r.label for name, r in READOUTS.items()}
"""Axis labels: the catalogue's."""
SLOW = ("hippocampal_volume", "neurogenesis", "plasticity_window", "learning", "trophic", "fitness")
SLOW_REFERENCES = {
    # read-out -> (label, value or slope per year, kind): published numbers drawn over the simulated curves
    "hippocampal_volume": (
        ("ENIGMA-MDD mean, -1.24% (G01)", 1.0 - 0.0124, "level"),
        ("untreated depression, -4.4%/year (G04)", -0.1 / (824.0 / 365.25), "slope"),
        ("exercise, +2%/year (F12)", 0.02, "slope"),
    ),
    "neurogenesis": (("healthy adult, 700/day (F01)", 700.0, "level"), ("running, about 2x (F08)", 1400.0, "level")),
}
MAX_PATIENTS = 20
_PUB = dict(marker="D", ms=6, mec="black", mew=0.8, ecolor="black", elinewidth=1.0, capsize=3, ls="none", zorder=5)


def trial_figures(result: TrialResult, published: list[dict]) -> dict[str, bytes]:
    """One PNG per scale group, arms overlaid (median and 25–75 % band over each arm's OK patients).

    Keys: concentrations, occupancy, signalling, plasticity, symptoms, safety, slow, contributions (trials on a
    depression scale) and, when any
    ``published`` entry has a ``simulated`` value, ``published`` (simulated vs published).
    """
    ts = result.times_h
    traces = []
    for i, (name, arm) in enumerate(result.arms.items()):
        ok = arm.simulation.ok
        if ok.any():
            ro = {k: np.asarray(v)[ok] for k, v in arm.simulation.readouts.items()}
            ro["score"], ro["baseline"] = arm.scores[ok], arm.baseline[ok]
            traces.append((name, f"C{i}", ro))
    t0 = min((e.time_h for arm in result.arms.values() for e in arm.simulation.regimen.events), default=0.0)
    figs = {key: _readouts(title, names, traces, ts, "band") for key, (title, names) in GROUPS.items()}
    figs["symptoms"] = _trial_symptoms(result, traces, published)
    figs["safety"] = _safety(traces, ts, t0, "band")
    figs["slow"] = _slow(traces, ts, "band")
    figs["contributions"] = contributions_figure(result.summary)
    figs["published"] = _published(published)
    figs["relapse_km"] = km_figure(result.summary.to_json_dict().get("withdrawal"))
    return {k: v for k, v in figs.items() if v is not None}


def simulation_figures(sim: Simulation, scores=None) -> dict[str, bytes]:
    """The same groups for a single patient or a small simulation: one line per patient (at most 20).

    ``scores`` (n, T) are observed primary-scale scores; without them the noise-free MADRS is drawn.
    """
    idx = np.flatnonzero(sim.ok)[:MAX_PATIENTS]
    score = sim.readouts["madrs_true"] if scores is None else np.asarray(scores)
    traces = [
        (
            f"patient {p}",
            f"C{i % 10}",
            {**{k: np.asarray(v)[p : p + 1] for k, v in sim.readouts.items()}, "score": score[p : p + 1]},
        )
        for i, p in enumerate(idx)
    ]
    t0 = min((e.time_h for e in sim.regimen.events), default=0.0)
    figs = {key: _readouts(title, names, traces, sim.times_h, "line") for key, (title, names) in GROUPS.items()}
    score_label = "MADRS, noise-free\n(points)" if scores is None else "observed score\n(points)"
    figs["symptoms"] = _readouts(
        "Symptoms", ("score", "expectancy"), traces, sim.times_h, "line", labels={"score": score_label}
    )
    figs["safety"] = _safety(traces, sim.times_h, t0, "line")
    figs["slow"] = _slow(traces, sim.times_h, "line")
    figs["circuit"] = simulation_circuit_figure(sim)
    return {k: v for k, v in figs.items() if v is not None}


_png = figure_png


def _figure(n_rows: int, title: str, subtitle: str, width: float = 10.0, row_h: float = 2.1) -> Figure:
    fig = Figure(figsize=(width, 1.2 + row_h * n_rows), layout="constrained")
    fig.suptitle(f"{title}\n{subtitle}" if subtitle else title, fontsize=12)
    return fig


def _axes(fig: Figure, n_rows: int, span_h: float, ratios=None):
    """Rows of (first 24 h in hours | whole span in days); one column when the run lasts a day or less."""
    days = span_h > 24.0 + 1e-6
    axes = fig.subplots(n_rows, 2 if days else 1, squeeze=False, sharey="row", height_ratios=ratios)
    for row in axes:
        first = min(24.0, span_h) or 1.0
        row[0].set_xlim(-0.015 * first, 1.025 * first)  # a margin, so points at 0 h and 24 h are not cut
        if days:
            row[0].xaxis.set_major_locator(MultipleLocator(4))
            row[1].set_xlim(-0.01 * span_h / 24.0, 1.02 * span_h / 24.0)
            row[1].xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in row:
            ax.grid(alpha=0.3)
    axes[-1][0].set_xlabel("hours since first dose")
    if days:
        axes[0][0].set_title("first day", fontsize=9)
        axes[0][1].set_title("whole run", fontsize=9)
        axes[-1][1].set_xlabel("days since first dose")
    return axes, (1.0, 24.0)[: 2 if days else 1]


def _trace(ax, x, y, colour, label, mode):
    """Draw (k, T) values: median + 25–75 % band, mean + 95 % CI of the mean, or plain lines."""
    if mode == "line":
        ax.plot(x, y.T, color=colour, lw=1.2, alpha=0.85, label=label)
        return
    if mode == "band":
        lo, mid, hi = np.percentile(y, [25, 50, 75], axis=0)
    else:
        mid = y.mean(axis=0)
        half = (
            stats.t.ppf(0.975, max(y.shape[0] - 1, 1)) * y.std(axis=0, ddof=1) / np.sqrt(y.shape[0])
            if y.shape[0] > 1
            else np.zeros_like(mid)
        )
        lo, hi = mid - half, mid + half
    ax.fill_between(x, lo, hi, color=colour, alpha=0.22, lw=0)
    ax.plot(x, mid, color=colour, lw=1.6, label=label)


def _ylabel(ax, name, labels=None):
    unit = READOUT_UNITS.get(name, "")
    ax.set_ylabel(f"{(labels or {}).get(name, LABELS.get(name, name))}" + (f"\n({unit})" if unit else ""), fontsize=9)


def _legend(fig, traces, published: bool = False, limit: int = 8):
    if len(traces) > limit:
        return
    handles = [Line2D([], [], color=c, lw=2, label=label) for label, c, _ in traces]
    if published:
        handles.append(Line2D([], [], color="white", marker="D", mec="black", mfc="grey", label="published (± CI)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5), fontsize=9, frameon=False)


_SUB = {"band": "lines: median; shaded: middle 50 % of patients", "line": "one line per patient"}


def _readouts(title, names, traces, ts, mode, labels=None) -> bytes | None:
    """Rows of readouts over time; a readout, or an arm's trace, that stays at zero is left out."""
    names = [n for n in names if any(n in ro and np.any(ro[n] != 0) for _, _, ro in traces)]
    if not names:
        return None
    fig = _figure(len(names), title, _SUB[mode] + ("; arms that stay at zero are not drawn" if mode == "band" else ""))
    axes, scales = _axes(fig, len(names), float(ts[-1]))
    drawn = set()
    for row, name in zip(axes, names):
        for ax, scale in zip(row, scales):
            for label, colour, ro in traces:
                if np.any(ro[name] != 0):
                    _trace(ax, ts / scale, ro[name], colour, label, mode)
                    drawn.add(label)
        _ylabel(row[0], name, labels)
    _legend(fig, [t for t in traces if t[0] in drawn])
    return _png(fig)


def _trial_symptoms(result, traces, published) -> bytes | None:
    """Mean score ± 95 % CI with baseline means and published mean changes; expectancy; response rates."""
    ts, scale = result.times_h, result.summary.scale
    arm_pts = {a: [p for p in published if p.get("arm") == a] for a, _, _ in traces}
    has_pub = any(p["metric"] in ("mean_change", "response_rate") for ps in arm_pts.values() for p in ps)
    fig = _figure(
        3,
        "Symptoms",
        f"{scale}: mean and 95 % CI of the mean; dotted: baseline mean. Expectancy: median, middle 50 %",
        row_h=2.3,
    )
    axes, scales = _axes(fig, 3, float(ts[-1]), ratios=[1.4, 1.0, 1.0])
    for label, colour, ro in traces:
        base = float(ro["baseline"].mean())
        arm = result.summary.arms.get(label)  # None for a crossover's sequence (its arms are pooled over periods)
        rates = [] if arm is None else [(tp.time_h, tp.response_rate) for tp in arm.timepoints]
        for (ax_s, ax_e, ax_r), s in zip(axes.T, scales):
            _trace(ax_s, ts / s, ro["score"], colour, label, "mean_ci")
            ax_s.axhline(base, color=colour, ls=":", lw=1.2)
            _trace(ax_e, ts / s, ro["expectancy"], colour, label, "band")
            if rates:
                h, r = np.array(rates).T
                ax_r.plot(h / s, r, color=colour, marker="o", ms=4, lw=1.2)
            for p in arm_pts[label]:
                if p["metric"] == "mean_change":
                    _pub(ax_s, p, s, colour, offset=base)
                elif p["metric"] == "response_rate":
                    _pub(ax_r, p, s, colour)
    axes[0][0].set_ylabel(f"{scale} score\n(points)", fontsize=9)
    _ylabel(axes[1][0], "expectancy")
    axes[2][0].set_ylabel("response rate\nvs published", fontsize=9)
    axes[2][0].set_ylim(-0.02, 1.02)
    axes[2][0].yaxis.set_major_formatter(PercentFormatter(1.0))
    _legend(fig, traces, published=has_pub)
    return _png(fig)


def _slow(traces, ts, mode) -> bytes | None:
    """Weeks to years: hippocampal volume, neurogenesis, the plasticity window, learning, trophic and fitness
    states, with the published levels and slopes of the evidence drawn over them (dashed, grey)."""
    names = [n for n in SLOW if any(n in ro for _, _, ro in traces)]
    if not names or ts[-1] < 24.0 * 7:
        return None
    fig = _figure(
        len(names),
        "Slow scales: neurogenesis, hippocampal volume, learning",
        _SUB[mode] + "; grey dashed: published levels and slopes (evidence ids)",
        row_h=1.9,
    )
    axes = fig.subplots(len(names), 1, squeeze=False, sharex=True)[:, 0]
    days = ts / 24.0
    for ax, name in zip(axes, names):
        for label, colour, ro in traces:
            _trace(ax, days, ro[name], colour, label, mode)
        start = float(np.mean([np.median(ro[name][:, 0]) for _, _, ro in traces]))
        for k, (text, value, kind) in enumerate(SLOW_REFERENCES.get(name, ())):
            y = np.full_like(days, value) if kind == "level" else start + value * days / 365.25
            ax.plot(days, y, color="0.45", ls=(0, (4, 2 + k)), lw=1.0)
            ax.text(days[-1], y[-1], f" {text}", fontsize=7, color="0.3", va="center", ha="left", clip_on=False)
        _ylabel(ax, name)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("days")
    _legend(fig, traces)
    return _png(fig)


def _pub(ax, p, scale, colour, offset=0.0):
    """One published point at its time with its CI bar (lo..hi) when given."""
    y = offset + p["value"]
    lo, hi = p.get("lo"), p.get("hi")
    yerr = None if lo is None or hi is None else [[y - (offset + lo)], [(offset + hi) - y]]
    ax.errorbar([p["time_h"] / scale], [y], yerr=yerr, mfc=colour, **_PUB)


def _safety(traces, ts, t0, mode) -> bytes | None:
    """Dissociation, systolic BP and sedation in the first 4 h after the first dose, in minutes."""
    names = [n for n in SAFETY if any(n in ro for _, _, ro in traces)]
    sel = (ts >= t0) & (ts <= t0 + SAFETY_WINDOW_H + 1e-9)
    if not names or sel.sum() < 2:
        return None
    fig = _figure(
        len(names), f"Safety: first {SAFETY_WINDOW_H:g} h after the first dose", _SUB[mode], width=7.5, row_h=1.9
    )
    axes = fig.subplots(len(names), 1, squeeze=False, sharex=True)[:, 0]
    x = (ts[sel] - t0) * 60.0
    for ax, name in zip(axes, names):
        for label, colour, ro in traces:
            _trace(ax, x, ro[name][:, sel], colour, label, mode)
        if name == "sbp":
            for thr in SBP_ALERTS:
                ax.axhline(thr, color="firebrick", ls="--", lw=0.8)
            ax.text(
                1.0,
                SBP_ALERTS[0],
                f" alert lines {SBP_ALERTS[0]:g} / {SBP_ALERTS[1]:g} mmHg",
                fontsize=7,
                color="firebrick",
                va="bottom",
                ha="right",
                transform=ax.get_yaxis_transform(),
            )
        _ylabel(ax, name)
        ax.grid(alpha=0.3)
    axes[-1].set_xlim(0.0, SAFETY_WINDOW_H * 60.0)
    axes[-1].xaxis.set_major_locator(MultipleLocator(30))
    axes[-1].set_xlabel("minutes since first dose")
    _legend(fig, traces)
    return _png(fig)


def _published(published: list[dict]) -> bytes | None:
    """Simulated vs published, one panel per metric, one row per entry with a simulated value."""
    rows = [p for p in published if p.get("simulated") is not None]
    if not rows:
        return None
    metrics = list(dict.fromkeys(p["metric"] for p in rows))
    counts = [sum(p["metric"] == m for p in rows) for m in metrics]
    fig = Figure(figsize=(9.0, 1.3 + sum(0.38 * c + 0.9 for c in counts)), layout="constrained")
    fig.suptitle("Simulated vs published", fontsize=12)
    axes = fig.subplots(len(metrics), 1, squeeze=False, height_ratios=[c + 2.0 for c in counts])[:, 0]
    for ax, metric in zip(axes, metrics):
        sub = [p for p in rows if p["metric"] == metric][::-1]  # first entry on top
        y = np.arange(len(sub))
        for yi, p in zip(y, sub):
            lo, hi = p.get("lo"), p.get("hi")
            xerr = None if lo is None or hi is None else [[p["value"] - lo], [hi - p["value"]]]
            ax.errorbar([p["value"]], [yi], xerr=xerr, mfc="grey", **_PUB)
            ax.plot([p["simulated"]], [yi], "o", color="C3", ms=7, zorder=6)
        labels = [f"{p['study']} · {p['arm']} · {p.get('label') or _h(p['time_h'])}" for p in sub]
        ax.set_yticks(y, labels, fontsize=9)
        ax.set_ylim(-0.7, len(sub) - 0.3)
        ax.set_title(metric.replace("_", " "), fontsize=10, loc="left")
        ax.grid(axis="x", alpha=0.3)
        if metric.endswith("_rate"):
            ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    fig.legend(
        handles=[
            Line2D([], [], ls="none", marker="D", mec="black", mfc="grey", label="published (± CI)"),
            Line2D([], [], ls="none", marker="o", color="C3", label="simulated"),
        ],
        loc="outside lower center",
        ncols=2,
        fontsize=9,
        frameon=False,
    )
    return _png(fig)


def _h(hours: float | None) -> str:
    if hours is None:
        return "—"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:g} h" if hours < 48 else f"{hours / 24:g} d"
