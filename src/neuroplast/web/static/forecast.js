// Forecast: upload a patient's history, see forecast bands and booster plans (when forecasting is installed).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  function field(id, label, input, hint) {
    const attrs = Object.assign({ id, name: id }, input);
    if (hint) attrs["aria-describedby"] = id + "-hint";
    const el = attrs.tag === "textarea" ? NP.el("textarea", Object.assign(attrs, { tag: null })) : NP.el("input", attrs);
    const box = NP.el("div", { class: "field" }, NP.el("label", { for: id, text: label }), el);
    if (hint) box.append(NP.el("p", { id: id + "-hint", class: "hint", text: hint }));
    return box;
  }

  function form() {
    const f = NP.el("form", { id: "form", class: "panel", novalidate: true });
    f.append(
      field("file", "History file (.csv or FHIR R4 .json)", { type: "file", accept: ".csv,.json,text/csv,application/json" }),
      field("history", "History (CSV text; filled from the file)", { tag: "textarea", rows: 8,
        placeholder: "record,time,item,value,route,duration\ncovariate,,weight,78 kg,,\nscore,2026-09-07T08:30,PHQ9,21,,\ndose,2026-09-07T09:00,ketamine,0.5 mg/kg,iv,40 min" },
        "One row a record: score, dose or covariate (weight, sex, age). Times in ISO 8601."),
      NP.el("div", { class: "row2" },
        field("target", "Target", { value: "PHQ9<10" }, "instrument < threshold"),
        field("probability", "With probability", { type: "number", min: 0.01, max: 0.99, step: 0.01, value: 0.8 })),
      NP.el("div", { class: "row2" },
        field("weeks", "Horizon (weeks)", { type: "number", min: 1, max: 26, step: 1, value: 8 }),
        field("min-days", "Minimum days between infusions", { type: "number", min: 0, step: 1, value: 7 })),
      NP.el("p", {}, NP.el("label", {}, NP.el("input", { id: "weekdays", type: "checkbox", checked: true }), " Boosters on weekdays only")),
      NP.el("p", {}, NP.el("button", { id: "run", type: "submit", text: "Forecast" })));
    return f;
  }

  function render(res) {
    const out = $("result"), fc = res.forecast;
    out.replaceChildren();
    const div = NP.el("div", { id: "forecast-plot", class: "plot", role: "img",
      "aria-label": `Forecast bands of ${fc.instrument} for ${fc.horizon_weeks} weeks, observed scores and booster plans` });
    out.append(NP.el("h2", { text: `Forecast of ${fc.instrument}` }), div);
    const rows = fc.forecast, t = rows.map((r) => r.time);
    const band = (lo, hi, name, opacity) => ({ x: t.concat([...t].reverse()), y: rows.map((r) => r[hi]).concat(rows.map((r) => r[lo]).reverse()),
      fill: "toself", line: { width: 0 }, fillcolor: "#0b4fa8", opacity, name, hoverinfo: "skip" });
    const traces = [band("p05", "p95", "90% band (no more doses)", 0.15), band("p25", "p75", "50% band", 0.25),
      { x: t, y: rows.map((r) => r.median), name: "median (no more doses)", line: { color: "#0b4fa8", width: 2 } },
      { x: res.observations.map((o) => o.time), y: res.observations.map((o) => o.score_on_target), mode: "markers",
        name: `observed (on ${fc.instrument})`, marker: { color: "#1b1b1b", size: 7 },
        text: res.observations.map((o) => `${o.instrument} ${o.score}`) }];
    res.plan_curves.forEach((p, i) => {
      if (p.name === "none") return;
      traces.push({ x: p.time, y: p.median, name: "plan: " + p.name, line: { dash: "dot", color: NP.colors[(i + 1) % NP.colors.length] } });
    });
    const shapes = res.given_doses.map((d) => ({ type: "line", x0: d, x1: d, yref: "paper", y0: 0, y1: 1,
      line: { color: "#b35c00", width: 1 } }));
    shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: fc.target.threshold, y1: fc.target.threshold,
      line: { color: "#c0392b", dash: "dash", width: 1 } });
    Plotly.react(div, traces, { height: 460, shapes, xaxis: { type: "date", title: { text: "date (lines: doses given)" } },
      yaxis: { title: { text: fc.instrument }, rangemode: "tozero" }, margin: { t: 90 },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" } },
      { responsive: true, displaylogo: false });
    const rel = fc.relapse;
    out.append(NP.el("p", { text: `Relapse within the horizon (no more doses): ${NP.pct(rel.probability)}` +
      (rel.median_time ? `, median ${rel.median_time}` : "") + `. Target: ${fc.target.label}.` }));
    out.append(NP.table("Booster plans", ["plan", "doses", "number", "P(target met)", "meets target"],
      fc.plans.map((p) => [p.name + (p.recommended ? " (recommended)" : ""), p.doses.join(", ") || "—",
        String(p.n_doses), NP.pct(p.probability_target_met), p.meets_target ? "yes" : "no"])));
    out.append(NP.el("p", { class: "hint", text: fc.disclaimer }));
  }

  async function init() {
    let st;
    try { st = await NP.api("/api/forecast"); } catch (e) { NP.showError($("errors"), e.message); return; }
    if (!st.available) {
      $("status").replaceChildren(NP.el("p", { class: "notice", text: st.message[0].toUpperCase() + st.message.slice(1) +
        ". The Explorer and Trials pages work without it." }));
      return;
    }
    $("status").textContent = "Upload a patient's history, then press Forecast.";
    const f = form();
    $("app").append(f, NP.el("div", { id: "result" }));
    let filename = "history.csv";
    $("file").addEventListener("change", async () => {
      const file = $("file").files[0];
      if (file) { $("history").value = await file.text(); filename = file.name; }
    });
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      NP.showError($("errors"), null);
      const body = { history: $("history").value, filename, target: $("target").value.trim(),
        probability: Number($("probability").value), weeks: Number($("weeks").value),
        min_days: Number($("min-days").value), weekdays_only: $("weekdays").checked };
      $("run").disabled = true;
      $("status").textContent = "Fitting the patient and forecasting… (the first forecast compiles, up to a minute)";
      try {
        render(await NP.api("/api/forecast", { json: body }));
        $("status").textContent = "Done.";
      } catch (e) { NP.showError($("errors"), e.message); $("status").textContent = ""; }
      $("run").disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
