"""One self-contained HTML report: tables, embedded PNG figures, inline CSS, no external URL."""

from __future__ import annotations

import base64
from html import escape

from .. import DISCLAIMER
from .._files import write_text_atomic
from .figures import _h
from .withdrawal import withdrawal_html

CAPTIONS = {  # figure key -> (heading, caption for a reader who is not a modeller)
    "relapse_km": (
        "Time to relapse",
        "Randomised-withdrawal trial: the share of randomised patients still free of relapse, by days since "
        "randomisation (Kaplan-Meier), one line per continuation arm; a patient who left or reached the end "
        "without relapsing counts until then.",
    ),
    "concentrations": (
        "Drug concentrations",
        "How much drug (and its breakdown product norketamine) is in the blood "
        "over time. Left: the first day in hours; right: the whole run in days.",
    ),
    "occupancy": (
        "Receptor block",
        "The share of NMDA receptors blocked by the drug, on the main (pyramidal) "
        "neurons and on the inhibitory interneurons; blocking the interneurons more releases the brakes "
        "on the main neurons.",
    ),
    "signalling": (
        "Signalling",
        "The short burst of glutamate that follows the block, and the growth signals it "
        "triggers (BDNF and mTORC1), shown as the rise above an untreated brain (0 = no change).",
    ),
    "plasticity": (
        "Synaptic plasticity",
        "Density of dendritic spines (the contact points between neurons) and "
        "the strength of connections, as a fraction of a healthy brain. Depression lowers them; "
        "rapid-acting treatments restore them for days to weeks.",
    ),
    "symptoms": (
        "Symptoms",
        "Top: the depression score on the rating scale (lower is better); in a trial, each "
        "arm's mean with its 95 % confidence band, dotted lines at the baseline mean and diamonds at "
        "published results. Middle: the expectancy (placebo) process. Bottom, in a trial: the share of "
        "patients whose score fell by at least the response threshold, beside published response rates.",
    ),
    "safety": (
        "Safety in the first hours",
        "Dissociation (CADSS), systolic and diastolic blood pressure, heart rate "
        "and sedation during and after the first dose, in minutes; dashed red lines mark the usual "
        "blood-pressure alert levels.",
    ),
    "slow": (
        "Slow scales: weeks to years",
        "Hippocampal volume (a fraction of a healthy brain: it shrinks while "
        "depression goes untreated and grows with exercise), the birth of new neurons in the hippocampus, the "
        "plasticity window (how much faster new learning, such as therapy, takes hold: 1 = the depressed "
        "baseline), what therapy and the natural course have unlearned of the depressed state, and the slow "
        "antidepressant (trophic) and exercise (fitness) drives. Grey dashed lines are published levels and "
        "rates, with their evidence ids; where the evidence is thin (meditation, creative activity) the "
        "parameters are assumptions listed by neuroplast params.",
    ),
    "contributions": (
        "Where relief comes from",
        "Each arm's change from baseline at each visit (the black diamond; lower is better), split into the routes "
        "that produced it: new connections between neurons (plasticity), expectancy (placebo response), what "
        "therapy and practice taught (learning), the illness's own course, the direct route of an SSRI, and what "
        "the raters' noise and rounding added. The parts add up to the change; docs/outputs.md gives the rule.",
    ),
    "circuit": (
        "Mood circuit",
        "How strongly brain regions of the mood circuit move together (top: correlation, "
        "red = together, blue = opposite), how that changed since the first snapshot (middle), and how "
        "active each region is beside a healthy brain (bottom, black ticks); from the rate model of "
        "docs/circuits.md.",
    ),
    "published": (
        "Simulated vs published",
        "Each row is one published result (grey diamond, with its confidence "
        "interval) beside the simulated value (red dot). A red dot inside the bar means the simulation "
        "agrees with the published result within its uncertainty.",
    ),
}
SAFETY_LABELS = {
    "cadss_peak_mean": "peak CADSS, mean",
    "sbp_peak_mean": "peak systolic BP, mean (mmHg)",
    "sbp_largest_mean_rise": "largest mean SBP rise (mmHg)",
    "sedation_peak_mean": "peak sedation, mean",
    "share_sbp_above_160": "share with SBP > 160",
    "share_sbp_above_180": "share with SBP > 180",
    "dbp_peak_mean": "peak diastolic BP, mean (mmHg)",
    "dbp_largest_mean_rise": "largest mean DBP rise (mmHg)",
    "heart_rate_peak_mean": "peak heart rate, mean (/min)",
    "heart_rate_largest_mean_rise": "largest mean HR rise (/min)",
    "share_sbp_rise_40": "share with SBP rise >= 40",
    "share_dbp_rise_25": "share with DBP rise >= 25",
    "share_cadss_above_4": "share with CADSS > 4",
    "minutes_sbp_above_160_mean": "minutes SBP > 160, mean",
    "discharge_h_median": "hours to discharge, median",
    "discharge_h_p90": "hours to discharge, 90th centile",
}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{margin-bottom:.2em}.disclaimer{border:2px solid #b03a2e;background:#fdf2f0;padding:.6em 1em;font-weight:600}
table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.92em;color:#444}
.meta{color:#555;font-size:.9em}
"""


def write_report(
    path, *, title: str, summary: dict | None, figures: dict[str, bytes], published: list[dict], notes: list[str]
) -> None:
    """Write the report to ``path`` atomically (a temp file in the same folder, then ``os.replace``)."""
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="disclaimer">{escape(DISCLAIMER)}</p>']
    if summary:
        parts += _summary(summary) + withdrawal_html(summary)
    if published:
        parts += ["<h2>Simulated vs published</h2>", _published(published)]
    for key, png in figures.items():
        head, caption = CAPTIONS.get(key, (key.replace("_", " ").capitalize(), ""))
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><h3>{escape(head)}</h3><img src="data:image/png;base64,{data}" alt="{escape(head)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    if notes:
        parts += ["<h2>Notes</h2>", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"]
    doc = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
    write_text_atomic(path, doc)


def _num(x, nd: int = 1) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.0f} %"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table; every cell is escaped here."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(s: dict) -> list[str]:
    """Meta line, per-arm, per-timepoint, relapse, contrasts and safety tables from ``summary.json``."""
    scale, arms = s.get("scale", ""), s.get("arms", {})
    meta = " · ".join(f"{k}: {s[k]}" for k in ("trial", "scale", "seed", "neuroplast_version") if k in s)
    out = [
        f'<p class="meta">{escape(meta)}</p>',
        *_crossover(s),
        "<h2>Arms</h2>",
        _table(
            [
                "arm",
                "n (simulated OK)",
                "n failed",
                f"baseline {scale} mean",
                "baseline sd",
                "responders 1 d after last dose",
                "median days to relapse",
            ],
            [
                [
                    a,
                    v["n"],
                    v.get("n_failed", 0),
                    _num(v["baseline"]["mean"]),
                    _num(v["baseline"]["sd"]),
                    _pct((v.get("relapse") or {}).get("responders_at_last_dose")),
                    _num((v.get("relapse") or {}).get("median_days_to_relapse")),
                ]
                for a, v in arms.items()
            ],
        ),
    ]
    out += _flow(s)
    out += [
        "<h2>Scores at each timepoint</h2>",
        _table(
            ["arm", "time", "n observed", f"mean {scale}", "mean change", "sd of change", "response", "remission"],
            [
                [
                    a,
                    tp["time"],
                    tp.get("n_observed", v["n"]),
                    _num(tp["mean_score"]),
                    _num(tp["mean_change"]),
                    _num(tp.get("sd_change")),
                    _pct(tp.get("response_rate")),
                    _pct(tp.get("remission_rate")),
                ]
                for a, v in arms.items()
                for tp in v["timepoints"]
            ],
        ),
    ]
    if s.get("contrasts"):
        notes = [f"{' vs '.join(c['arms'])}, {c['time']}: {c['note']}" for c in s["contrasts"] if c.get("note")]
        out += [
            "<h2>Differences between arms</h2>",
            "<p>Mean difference is the first arm minus the second (negative: the first arm has lower, i.e. "
            "better, scores), with its 95 % CI and p-value from the analysis named beside it; Cohen's d is "
            "positive when the first arm improved more; the odds ratio compares the odds of response (logistic "
            "regression, 95 % CI).</p>",
            _table(
                [
                    "arms",
                    "time",
                    "analysis",
                    "n analysed",
                    "mean difference",
                    "95 % CI",
                    "p",
                    "odds ratio (response) [95 % CI]",
                    "Cohen's d",
                ],
                [
                    [
                        " vs ".join(c["arms"]),
                        c["time"],
                        _analysis(c),
                        " / ".join(str(x) for x in c["n_analysed"]) if c.get("n_analysed") else "—",
                        _num(c["mean_difference"]),
                        f"{_num(c['ci95'][0])} to {_num(c['ci95'][1])}" if c.get("ci95") else "—",
                        _p(c.get("p_value")),
                        _odds(c),
                        _num(c.get("cohens_d"), 2),
                    ]
                    for c in s["contrasts"]
                ],
            ),
        ]
        if notes:
            out.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    safety = {a: v["safety"] for a, v in arms.items() if v.get("safety")}
    if safety:
        keys = list(dict.fromkeys(k for v in safety.values() for k in v))
        out += [
            "<h2>Safety</h2>",
            _table(
                ["arm", *(SAFETY_LABELS.get(k, k.replace("_", " ")) for k in keys)],
                [
                    [a, *(_pct(v.get(k)) if k.startswith("share") else _num(v.get(k), 2) for k in keys)]
                    for a, v in safety.items()
                ],
            ),
        ]
    return out


ANALYSES = {
    "welch": "Welch t-test",
    "ancova": "ANCOVA on baseline",
    "mmrm": "MMRM",
    "crossover_mixed": "crossover mixed model",
}
DATA = {"observed": "observed", "locf": "LOCF", "completers": "completers"}


def _analysis(c: dict) -> str:
    """The analysis of a contrast in words, e.g. "MMRM, observed"."""
    method = c.get("method")
    if method is None:  # a summary written before the analyses were named
        return "Welch t-test"
    return f"{ANALYSES.get(method, method)}, {DATA.get(c.get('data', 'observed'), c.get('data'))}"


def _p(p) -> str:
    return "—" if p is None else "< 0.001" if p < 0.001 else f"{p:.3f}"


def _odds(c: dict) -> str:
    r = c.get("response")
    if not r:
        return _num(c.get("odds_ratio_response"), 2)
    lo, hi = r["ci95"]
    return f"{_num(r['odds_ratio'], 2)} [{_num(lo, 2)}, {_num(hi, 2)}]"


def _flow(s: dict) -> list[str]:
    """The CONSORT-style flow per arm: randomised, dosed, failed, left (when, why), analysed."""
    arms = s.get("arms", {})
    if not arms or not all("n_analysed" in v for v in arms.values()):
        return []  # a summary written before dropout was simulated
    drop = s.get("dropout")
    what = (
        f"Dropout: {_pct(drop['after_first_dose'])} right after the first dose, {_pct(drop['per_week'])} per week "
        f"after it, informative weight {drop['informative']:g} (trial-format.md)."
        if drop
        else "Nobody leaves (no [trial.dropout])."
    )
    method = s.get("analysis", "observed")
    reasons = ("adverse event", "lack of efficacy", "other")
    rows = []
    for a, v in arms.items():
        randomised = v["n"] + v.get("n_failed", 0)
        why = v.get("dropped_reasons") or {}
        rows.append(
            [
                a,
                randomised,
                randomised,
                v.get("n_failed", 0),
                v.get("n_dropped_after_first_dose", 0),
                v.get("n_dropped", 0) - v.get("n_dropped_after_first_dose", 0),
                *(why.get(r, 0) for r in reasons),
                v["n_analysed"],
            ]
        )
    return [
        "<h2>Participant flow</h2>",
        f"<p>CONSORT-style, per arm. {escape(what)} Every randomised virtual patient receives the first dose "
        "or session (in a wait-list arm: enters the wait); a failed simulation is excluded; analysed: patients "
        "in the primary analysis "
        f"({escape(method)}) at the last timepoint. Scores and rates below are over the patients observed at "
        "each visit; safety and the figures describe every simulated patient, on treatment to the end.</p>",
        _table(
            [
                "arm",
                "randomised",
                "dosed",
                "simulation failed",
                "left after first dose",
                "left later",
                "left: adverse event",
                "left: lack of efficacy",
                "left: other",
                "analysed",
            ],
            rows,
        ),
    ]


def _published(published: list[dict]) -> str:
    """Every published entry beside its simulated value, and whether the published CI holds it."""
    rows = []
    for p in published:
        fmt = _pct if p["metric"].endswith("_rate") else _num
        lo, hi, sim = p.get("lo"), p.get("hi"), p.get("simulated")
        ci = f" [{fmt(lo)}, {fmt(hi)}]" if lo is not None and hi is not None else ""
        inside = "n/a" if sim is None or lo is None or hi is None else "yes" if lo <= sim <= hi else "no"
        rows.append(
            [
                p["study"],
                p["arm"],
                p.get("label") or _h(p["time_h"]),
                p["metric"].replace("_", " "),
                fmt(p["value"]) + ci,
                fmt(sim),
                inside,
            ]
        )
    return _table(["study", "arm", "time", "metric", "published [CI]", "simulated", "simulated within CI"], rows)


def _crossover(s: dict) -> list[str]:
    """A crossover's design and its sequences' cell means (nothing for a parallel trial)."""
    xo = s.get("crossover")
    if s.get("design") != "crossover" or not xo:
        return []
    times = [tp["time"] for tp in xo["sequences"][0]["periods"][0]["timepoints"]]
    rows = [
        [
            " > ".join(q["arms"]),
            q["n"],
            c["period"],
            c["arm"],
            c["n_started"],
            _num(c["baseline_mean"]),
            *(_num(v["mean_change"]) for v in c["timepoints"]),
        ]
        for q in xo["sequences"]
        for c in q["periods"]
    ]
    return [
        "<h2>Crossover design</h2>",
        f"<p>A crossover: every patient receives every arm, one per period, in the order of their sequence. Each "
        f"period is observed for {escape(xo['period'])} from its first dose, then a washout of "
        f"{escape(xo['washout'])} precedes the next; timepoints count from each period's first dose, and changes "
        "are from the period's own baseline (the score at its first dose). What one period leaves behind is "
        "simulated into the next (carry-over). The arms below pool the periods on each arm; the differences "
        "between arms come from the crossover mixed model (treatment, period and sequence, a random patient "
        "effect).</p>",
        _table(
            [
                "sequence",
                "n",
                "period",
                "arm",
                "n started",
                "period baseline mean",
                *(f"mean change {t}" for t in times),
            ],
            rows,
        ),
    ]
