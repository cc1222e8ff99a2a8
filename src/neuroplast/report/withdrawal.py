"""A randomised-withdrawal trial in the report: the Kaplan-Meier curves of time to relapse (a PNG) and the flow
and relapse tables (HTML), both from ``summary.json``'s ``withdrawal`` block (docs/outputs.md)."""

from __future__ import annotations

from html import escape

from matplotlib.figure import Figure

from .png import figure_png


def km_figure(withdrawal: dict | None) -> bytes | None:
    """Kaplan-Meier curves of staying free of relapse, one step line per continuation arm, ``None`` without a
    ``withdrawal`` block."""
    if not withdrawal:
        return None
    fig = Figure(figsize=(8.0, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (name, arm) in enumerate(withdrawal["arms"].items()):
        km = arm["km"]
        days = [*km["days"], withdrawal["follow_up_h"] / 24.0]
        surv = [*km["survival"], km["survival"][-1]]
        ax.step(days, surv, where="post", color=f"C{i}", lw=1.8, label=f"{name} (n = {arm['randomised']})")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(-0.01 * withdrawal["follow_up_h"] / 24.0, 1.02 * withdrawal["follow_up_h"] / 24.0)
    ax.set_xlabel("days since randomisation")
    ax.set_ylabel("free of relapse\n(Kaplan-Meier)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, frameon=False, loc="lower left")
    fig.suptitle(f"Time to relapse after randomisation\nrelapse: {withdrawal['relapse']}", fontsize=11)
    return figure_png(fig)


def _cell(x, nd: int = 2) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def withdrawal_html(summary: dict) -> list[str]:
    """The flow (CONSORT-style, per continuation arm's stream and in total) and the relapse contrasts."""
    w = summary.get("withdrawal")
    if not w:
        return []
    keys = ("enrolled", "failed", "left_during_induction", "completed_induction", "met_criterion",
            "not_met_criterion", "randomised", "relapsed", "censored_dropout", "censored_end")  # fmt: skip
    head = ["arm", *(k.replace("_", " ") for k in keys), "median days to relapse"]
    rows = [
        [escape(n), *(str(a[k]) for k in keys), _cell(a["median_days_to_relapse"], 1)] for n, a in w["arms"].items()
    ]
    f = w["flow"]
    rows.append(["all", *(str(f[k]) for k in keys[:6]), str(sum(f["randomised"].values())), "", "", "", ""])
    crit = f"{w['criterion'].replace('_', ' ')} on {w['scale']}"
    if w["criterion"].startswith("stable_"):
        crit += f" for {w['stable_for_h'] / 24:g} d"
    lines = [
        "<h2>Randomised withdrawal</h2>",
        f"<p>Open-label induction: {escape(w['induction'])}; criterion at {w['randomise_at_h'] / 24:g} d: "
        f"{escape(crit)} (response: a fall of {w['response']:.0%}, remission: a score of at most "
        f"{w['remission']:g}); relapse: {escape(w['relapse'])}; follow-up {w['follow_up_h'] / 24:g} d after "
        "randomisation. Each continuation arm enrols from its own stream until its patients are randomised "
        "(docs/trial-format.md), so the induction counts are per arm.</p>",
        _table(head, rows),
    ]
    crows = [
        [
            escape(" vs ".join(c["arms"])),
            escape(c["method"]),
            _cell(c["hazard_ratio"]),
            "–" if c["ci95"] is None else f"[{c['ci95'][0]:.2f}, {c['ci95'][1]:.2f}]",
            _cell(c["p_value"], 4),
            _cell(c["logrank_p_value"], 4),
            f"{c['events'][0]} / {c['n_analysed'][0]} vs {c['events'][1]} / {c['n_analysed'][1]}",
            escape(c.get("note") or ""),
        ]
        for c in w["contrasts"]
    ]
    lines.append(
        _table(["arms", "method", "hazard ratio", "95 % CI", "p", "log-rank p", "relapsed / randomised", "note"], crows)
    )
    return lines


def _table(header: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


__all__ = ["km_figure", "withdrawal_html"]
