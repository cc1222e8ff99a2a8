// Explorer: one typical patient under one protocol; every read-out on linked plots; diff to the previous run.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let options = null, previous = null, previousLabel = "";

  function fillSelect(sel, items, labelOf = (x) => x, valueOf = (x) => x) {
    sel.replaceChildren(...items.map((x) => NP.el("option", { value: valueOf(x), text: labelOf(x) })));
  }

  function onDrug() {
    const drug = options.drugs.find((d) => d.name === $("drug").value);
    fillSelect($("route"), drug.routes);
    const def = drug.default || {};
    if (def.route && drug.routes.includes(def.route)) $("route").value = def.route;
    $("amount").value = def.amount !== undefined ? String(def.amount) : "";
    $("duration").value = def.duration || "";
    onRoute();
  }

  function onRoute() {
    const drug = options.drugs.find((d) => d.name === $("drug").value);
    const c = (drug.ceilings_mg_per_kg || {})[$("route").value];
    $("amount-hint").textContent = "Amounts in mg/kg or mg; times with units, e.g. 40 min, 3.5 d." +
      (c !== undefined ? " Safety ceiling for this route: " + c + " mg/kg." : "");
  }

  async function init() {
    try {
      options = await NP.api("/api/options");
    } catch (e) {
      NP.showError($("errors"), e.message);
      $("status").textContent = "";
      return;
    }
    fillSelect($("drug"), options.drugs, (d) => d.name, (d) => d.name);
    $("drug").addEventListener("change", onDrug);
    $("route").addEventListener("change", onRoute);
    onDrug();
    fillSelect($("population"), options.populations, (p) => p.name, (p) => p.name);
    $("population").title = options.populations[0] ? options.populations[0].description : "";
    const th = options.therapy;
    th.kinds.forEach((k) => $("therapy").append(NP.el("option", { value: k, text: k })));
    $("therapy-note").textContent = th.modelled ? "" : "Not simulated in this build: " + th.note + ".";
    $("form").addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
    $("status").textContent = "Ready. Press Run simulation.";
  }

  function text(id) { const v = $(id).value.trim(); return v === "" ? undefined : v; }
  function number(id) { const v = $(id).value.trim(); return v === "" ? undefined : Number(v); }

  function request() {
    const dose = { drug: $("drug").value, route: $("route").value, amount: text("amount"), duration: text("duration") };
    const count = number("count");
    dose.start = text("start") || "0 d";
    dose.count = count === undefined ? 1 : count;
    if (dose.count > 1) dose.every = text("every");
    const protocol = { name: "explorer", dose: [dose] };
    if ($("therapy").value) {
      protocol.therapy = [{ kind: $("therapy").value, start: text("t-start"), every: text("t-every"), count: number("t-count") }];
    }
    const patient = { population: $("population").value, weight_kg: number("weight"), age_y: number("age"),
                      female: $("sex").value === "female", baseline_madrs: number("baseline") };
    return JSON.parse(JSON.stringify({ protocol, patient, days: number("days"), allow_high_dose: $("high").checked }));
  }

  function describe(req) {
    const d = req.protocol.dose[0];
    return `${d.drug} ${d.amount || ""} ${d.route}${d.count > 1 ? " ×" + d.count : ""}, ${req.patient.population}, ` +
      `${req.patient.weight_kg || 70} kg`;
  }

  async function run() {
    const req = request();
    const btn = $("run");
    btn.disabled = true;
    NP.showError($("errors"), null);
    $("status").textContent = "Simulating… (the first run of a session compiles the model, about 10 s)";
    const t0 = performance.now();
    let res;
    try {
      res = await NP.api("/api/simulate", { json: req });
    } catch (e) {
      NP.showError($("errors"), e.message);
      $("status").textContent = "The run failed; the previous result is still shown.";
      btn.disabled = false;
      return;
    }
    btn.disabled = false;
    const label = describe(req);
    draw(res, label);
    diff(res, label);
    $("status").textContent = `Done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${label}; ` +
      `${res.days} days, solver status ${res.status}.`;
    previous = res; previousLabel = label;
  }

  function rowsOf(res) {
    const rows = [];
    res.groups.forEach((g) => {
      const units = [];
      g.readouts.forEach((n) => { const u = res.readouts[n].unit; if (!units.includes(u)) units.push(u); });
      units.forEach((u) => rows.push({ key: g.key + "|" + u, title: g.title, unit: u,
                                      names: g.readouts.filter((n) => res.readouts[n].unit === u) }));
    });
    return rows;
  }

  function draw(res, label) {
    const days = res.times_h.map((h) => h / 24);
    const rows = rowsOf(res).map((r) => {
      const traces = [];
      r.names.forEach((n, i) => {
        const ro = res.readouts[n], color = NP.colors[i % NP.colors.length];
        // a read-out that stays at zero (a drug not given) starts hidden; its legend entry shows it
        const flat = ro.values.every((v) => v === null || v === 0);
        traces.push({ x: days, y: ro.values, name: ro.label, legendgroup: n, mode: "lines", line: { color, width: 2 },
                      visible: flat ? "legendonly" : true,
                      hovertemplate: "%{y:.4g} " + ro.unit });
        if (previous && previous.readouts[n]) {
          traces.push({ x: previous.times_h.map((h) => h / 24), y: previous.readouts[n].values, legendgroup: n,
                        name: "previous: " + ro.label, mode: "lines", line: { color, width: 1.5, dash: "dash" },
                        showlegend: false,  // one legend entry toggles both runs (legendgroup)
                        opacity: 0.75, visible: flat ? "legendonly" : true, hovertemplate: "previous %{y:.4g} " + ro.unit });
        }
      });
      return { title: r.title + " — " + (r.unit || "no unit"), traces };
    });
    const shapes = res.doses.map((d) => ({ type: "rect", xref: "x", yref: "paper", x0: d.time_h / 24,
      x1: (d.time_h + d.duration_h) / 24, y0: 0, y1: 1, fillcolor: "#ffb84d", opacity: 0.35, line: { width: 0 } }));
    NP.linkedPlot($("plot"), rows, { xTitle: "days from the first dose (shaded: doses; dashed: the previous run)",
                                     rowHeight: 150, shapes });
    $("plot").setAttribute("aria-label", `Trajectories of ${Object.keys(res.readouts).length} read-outs in ` +
      `${rows.length} linked plots over ${res.days} days: ${label}` + (previous ? "; dashed: " + previousLabel : ""));
  }

  function stats(ro) {
    const v = ro.values.filter((x) => x !== null);
    return { peak: Math.max(...v), low: Math.min(...v), end: v[v.length - 1] };
  }

  function diff(res, label) {
    const box = $("diff");
    box.replaceChildren();
    const names = Object.keys(res.readouts);
    if (!previous) {
      box.append(NP.el("h2", { text: "This run" }),
        NP.table(label, ["read-out", "unit", "peak", "lowest", "at the end"],
          names.map((n) => { const s = stats(res.readouts[n]);
            return [res.readouts[n].label, res.readouts[n].unit, NP.num(s.peak), NP.num(s.low), NP.num(s.end)]; })));
      return;
    }
    const rows = names.filter((n) => previous.readouts[n]).map((n) => {
      const a = stats(previous.readouts[n]), b = stats(res.readouts[n]);
      const d = (x, y) => (y - x >= 0 ? "+" : "") + NP.num(y - x);
      return [res.readouts[n].label, res.readouts[n].unit, NP.num(a.peak), NP.num(b.peak), d(a.peak, b.peak),
              NP.num(a.end), NP.num(b.end), d(a.end, b.end)];
    });
    box.append(NP.el("h2", { text: "Difference against the previous run" }),
      NP.el("p", { class: "hint", text: `previous: ${previousLabel} — this: ${label}` }),
      NP.table(null, ["read-out", "unit", "peak, previous", "peak, this", "change", "end, previous", "end, this", "change"], rows));
  }

  document.addEventListener("DOMContentLoaded", init);
})();
