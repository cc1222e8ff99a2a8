"""Outputs of ``neuroplast forecast``: forecast.json, plans.csv, two figures and a one-page report.

Written atomically (a temporary folder moved into ``--out`` only when everything succeeded). The
outputs carry no name or identifier of the patient — only a label if the user passes one — and
not the input file's name (file names often hold a patient's name).
"""

from __future__ import annotations

import base64
import csv
from html import escape
from pathlib import Path

from ..io.outputs import atomic_output_dir, write_json
from ..report.png import figure_png as _png
from .run import ForecastResult

DISCLAIMER = (
    "Research software, not a medical device. This forecast comes from a simulation model fitted to a few "
    "scores; it has not been validated for clinical use and must not be used to make decisions about "
    "any patient's care."
)
COLOURS = {"band": "#4c72b0", "obs": "#222222", "other": "#888888", "threshold": "#b03a2e"}


def figures(result: ForecastResult) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import numpy as np

    d = result.data
    instr, thr = d["instrument"], d["target"]["threshold"]
    out = {}
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    t = [x.replace(tzinfo=None) for x in result.grid_time]
    b = result.grid_bands
    ax.fill_between(t, b["p05"], b["p95"], color=COLOURS["band"], alpha=0.18, lw=0, label="90% band")
    ax.fill_between(t, b["p25"], b["p75"], color=COLOURS["band"], alpha=0.35, lw=0, label="50% band")
    ax.plot(t, b["median"], color=COLOURS["band"], lw=1.6, label="median")
    same = [(o[0].replace(tzinfo=None), o[2]) for o in result.observations if o[1] == instr]
    other = [(o[0].replace(tzinfo=None), o[3]) for o in result.observations if o[1] != instr]
    if same:
        ax.plot(*zip(*same), "o", color=COLOURS["obs"], ms=5, label=f"measured {instr}")
    if other:
        ax.plot(*zip(*other), "o", mfc="none", color=COLOURS["other"], ms=5, label=f"other scales, as {instr}")
    ax.axhline(thr, color=COLOURS["threshold"], ls="--", lw=1, label=f"target: below {thr:g}")
    # matplotlib converts datetimes on a date axis; its stubs type x as float
    ax.axvline(result.now.replace(tzinfo=None), color="#555", lw=1)  # type: ignore[arg-type]
    ax.text(result.now.replace(tzinfo=None), ax.get_ylim()[1], " now", va="top", fontsize=8, color="#555")  # type: ignore[arg-type]
    for k, g in enumerate(result.given_doses):
        ax.axvline(g.replace(tzinfo=None), ymax=0.05, color="#2a9d8f", lw=2, label="dose given" if k == 0 else None)
    ax.set_ylabel(f"{instr} total")
    ax.set_title(f"{instr}: fitted history and forecast under the current plan (no further doses)", fontsize=10)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.legend(fontsize=7, ncol=4, loc="upper left")
    fig.tight_layout()
    out["forecast"] = _png(fig)
    plt.close(fig)

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 5.6), dpi=110, gridspec_kw={"height_ratios": [2.2, 1]})
    cmap = plt.get_cmap("tab10")
    for i, (name, (ts, med, lo, hi, times)) in enumerate(result.plan_curves.items()):
        x = [q.replace(tzinfo=None) for q in ts]
        a1.plot(x, med, color=cmap(i), lw=1.5, label=name)
        a1.fill_between(x, lo, hi, color=cmap(i), alpha=0.08, lw=0)
        for q in times:
            a1.plot(q.replace(tzinfo=None), thr * 0.15 + i * 0.6, "v", color=cmap(i), ms=6)
    a1.axhline(thr, color=COLOURS["threshold"], ls="--", lw=1)
    a1.set_ylabel(f"true {instr} (median, 90% band)")
    a1.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    a1.legend(fontsize=7)
    a1.set_title("Booster plans (triangles: planned doses)", fontsize=10)
    names = [p["name"] for p in d["plans"]]
    probs = [p["probability_target_met"] for p in d["plans"]]
    a2.barh(np.arange(len(names)), probs, color=[cmap(i) for i in range(len(names))])
    a2.axvline(d["target"]["probability"], color=COLOURS["threshold"], ls="--", lw=1)
    a2.set_yticks(np.arange(len(names)), [f"{n} ({p['n_doses']} doses)" for n, p in zip(names, d["plans"])], fontsize=7)
    a2.set_xlim(0, 1)
    a2.set_xlabel(f"probability that {instr} stays below {thr:g} (target {d['target']['probability']:.0%})")
    a2.invert_yaxis()
    fig.tight_layout()
    out["plans"] = _png(fig)
    plt.close(fig)
    return out


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def html(result: ForecastResult, figs: dict[str, bytes]) -> str:
    d = result.data
    instr, thr = d["instrument"], d["target"]["threshold"]
    rel = d["relapse"]
    rec = d["plans"][0]
    post = d["posterior"]
    label = f" — {escape(d['label'])}" if d.get("label") else ""
    if rel["probability"] is None:
        rel_text = (
            f"The patient is probably not below {thr:g} on the {instr} now "
            f"(probability {_pct(rel['probability_below_threshold_now'])}), so relapse is not defined."
        )
    else:
        when = (
            f"the median predicted date is {escape(rel['median_time'][:10])}"
            if rel["median_time"]
            else "fewer than half are predicted to relapse within the horizon"
        )
        rel_text = (
            f"With no further doses, the chance that the {instr} rises to {thr:g} or above within "
            f"{d['horizon_weeks']:g} weeks is <b>{_pct(rel['probability'])}</b>; {when}."
        )
    rec_text = (
        f"<b>{escape(rec['name'])}</b>: {rec['n_doses']} dose(s)"
        + (f" on {', '.join(escape(x[:10]) for x in rec['doses'])}" if rec["doses"] else "")
        + f"; probability the target holds {_pct(rec['probability_target_met'])} (target "
        + f"{_pct(d['target']['probability'])})."
    )
    if not rec["meets_target"]:
        rec_text += " <b>No plan reached the target</b>; this is the best of those compared."
    rows = "".join(
        f"<tr><td>{escape(p['name'])}</td><td>{p['n_doses']}</td>"
        f"<td>{escape(', '.join(x[:10] for x in p['doses']) or '—')}</td>"
        f"<td>{_pct(p['probability_target_met'])}</td><td>{'yes' if p['meets_target'] else 'no'}</td></tr>"
        for p in d["plans"]
    )
    diag = [
        f"method: {escape(post['method'])}",
        f"{post['n_observations']} scores used",
        f"{post['n_draws']} posterior draws",
    ]
    if "r_hat_max" in post:
        diag += [
            f"R-hat max {post['r_hat_max']:.3f}",
            f"effective samples min {post['n_eff_min']:.0f}",
            f"divergences {post['divergences']}",
        ]
    else:
        diag += [f"optimiser converged: {'yes' if post['converged'] else 'no'}"]
    warn = "".join(f"<li>{escape(w)}</li>" for w in post.get("warnings", []))
    if post.get("failed_draws"):
        warn += f"<li>{post['failed_draws']} posterior draws failed to solve and were left out</li>"
    params = "".join(
        f"<tr><td>{escape(k)}</td><td>{v['median']:.3g}</td><td>{v['p05']:.3g} – {v['p95']:.3g}</td>"
        f"<td>{escape(v['description'])}</td></tr>"
        for k, v in post["parameters"].items()
    )
    img = "".join(
        f'<figure><img alt="{k}" src="data:image/png;base64,{base64.b64encode(v).decode()}"></figure>'
        for k, v in figs.items()
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>neuroplast forecast</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:1em auto;padding:0 1em;color:#222;line-height:1.4}}
.disclaimer{{border:2px solid #b03a2e;background:#fdf2f0;padding:.6em 1em;font-weight:600}}
table{{border-collapse:collapse;font-size:.9em;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:.2em .5em}}
th{{background:#f3f3f3}}img{{max-width:100%}}.small{{font-size:.85em;color:#555}}</style></head><body>
<h1>Forecast for one patient{label}</h1>
<p class="disclaimer">{escape(DISCLAIMER)}</p>
<p>Forecast made at {escape(d["now"])} for the next {d["horizon_weeks"]:g} weeks, on the {instr}.
Target: keep the {instr} below {thr:g} with probability {_pct(d["target"]["probability"])}
(boosters on {"weekdays only" if d["constraints"]["weekdays_only"] else "any day"}, at least
{d["constraints"]["min_days_between_infusions"]:g} days apart; booster = {escape(d["constraints"]["booster"]["amount"])}
{escape(d["constraints"]["booster"]["drug"])} {escape(d["constraints"]["booster"]["route"])} over
{escape(d["constraints"]["booster"]["duration"])}).</p>
<h2>In short</h2><p>{rel_text}</p><p>Plan with the fewest doses that meets the target: {rec_text}</p>
{img}
<h2>Plans compared</h2><table><tr><th>plan</th><th>doses</th><th>dates</th><th>target holds</th><th>meets target</th></tr>
{rows}</table>
<p class="small">"Target holds": share of the patient's plausible versions (posterior draws) whose true score stays
below {thr:g} on every day from {escape((d["target"]["evaluated_from"] or "—")[:10])} to the end of the horizon.
Bands in the first figure are for the score a new measurement would give (they include rating error).</p>
<h2>How sure is the model?</h2><p class="small">{" · ".join(diag)}</p>{"<ul>" + warn + "</ul>" if warn else ""}
<table><tr><th>patient parameter</th><th>median</th><th>90% interval</th><th>meaning</th></tr>{params}</table>
<p class="small">The model is neuroplast's dose → PK → receptor → signalling → synapse → mood chain, calibrated on
published trials; only the parameters above are fitted to this patient. Scores on different scales are linked by
published crosswalks (some links are assumptions, see docs/forecast.md). neuroplast {escape(d["neuroplast_version"])}.</p>
</body></html>
"""


def write_outputs(result: ForecastResult, out: str | Path) -> None:
    figs = figures(result)
    page = html(result, figs)
    with atomic_output_dir(out) as tmp:
        write_json(tmp / "forecast.json", result.data)
        with open(tmp / "plans.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["name", "n_doses", "doses", "probability_target_met", "meets_target", "recommended"])
            for p in result.data["plans"]:
                w.writerow(
                    [
                        p["name"],
                        p["n_doses"],
                        " ".join(p["doses"]),
                        f"{p['probability_target_met']:.3f}",
                        p["meets_target"],
                        bool(p.get("recommended")),
                    ]
                )
        for k, v in figs.items():
            (tmp / f"{k}.png").write_bytes(v)
        (tmp / "report.html").write_text(page, encoding="utf-8")


__all__ = ["DISCLAIMER", "figures", "html", "write_outputs"]
