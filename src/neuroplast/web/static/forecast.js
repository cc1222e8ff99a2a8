// Forecast: upload a patient's score history, see forecast bands and booster plans (when forecasting is installed).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  function parseHistory(text, scale) {
    const rows = [];
    text.split(/\r?\n/).forEach((line, i) => {
      const s = line.trim();
      if (!s || s.startsWith("#") || /^time\b/i.test(s)) return;
      const parts = s.split(/[,;\t]/).map((x) => x.trim());
      if (parts.length < 2 || parts[1] === "" || Number.isNaN(Number(parts[1]))) {
        throw new Error(`history line ${i + 1}: expected "time, score", e.g. "3 d, 18"; got "${s}"`);
      }
      rows.push({ time: parts[0], scale: parts[2] || scale, score: Number(parts[1]) });
    });
    return rows;
  }

  function form(options) {
    const f = NP.el("form", { id: "form", class: "panel", novalidate: true });
    const scale = NP.el("select", { id: "scale", name: "scale" }, ...options.scales.map((s) => NP.el("option", { value: s, text: s })));
    f.append(
      NP.el("div", { class: "field" }, NP.el("label", { for: "file", text: "History file (CSV: time, score)" }),
        NP.el("input", { id: "file", name: "file", type: "file", accept: ".csv,.txt,text/plain" })),
      NP.el("div", { class: "field" }, NP.el("label", { for: "history", text: "Or type the history, one \"time, score\" a line" }),
        NP.el("textarea", { id: "history", name: "history", rows: 6, text: "0 d, 32\n1 d, 16\n7 d, 20" })),
      NP.el("div", { class: "row2" },
        NP.el("div", { class: "field" }, NP.el("label", { for: "scale", text: "Scale" }), scale),
        NP.el("div", { class: "field" }, NP.el("label", { for: "horizon", text: "Forecast horizon" }),
          NP.el("input", { id: "horizon", name: "horizon", value: "28 d" }))),
      NP.el("p", {}, NP.el("button", { id: "run", type: "submit", text: "Forecast" })));
    return f;
  }

  function render(res) {
    const out = $("result");
    out.replaceChildren();
    const t = res.times_h || res.time_h;
    const bands = res.bands || {};
    if (t && Object.keys(bands).length) {
      const div = NP.el("div", { id: "forecast-plot", class: "plot", role: "img", "aria-label": "Forecast bands" });
      out.append(div);
      const x = t.map((h) => h / 24), traces = [];
      Object.entries(bands).forEach(([name, b], i) => {
        const color = NP.colors[i % NP.colors.length];
        if (b.lo && b.hi) {
          traces.push({ x: x.concat([...x].reverse()), y: b.hi.concat([...b.lo].reverse()), fill: "toself",
                        line: { width: 0 }, fillcolor: color, opacity: 0.2, name: name + " band", hoverinfo: "skip" });
        }
        if (b.median) traces.push({ x, y: b.median, name: name + " median", line: { color } });
      });
      Plotly.react(div, traces, { height: 420, xaxis: { title: { text: "days" } }, margin: { t: 30 } },
                   { responsive: true, displaylogo: false });
    }
    (res.boosters || res.booster_plans || []).forEach((b, i) => {
      out.append(NP.el("p", { text: `Booster plan ${i + 1}: ` + JSON.stringify(b) }));
    });
    out.append(NP.el("details", {}, NP.el("summary", { text: "Full response (JSON)" }),
      NP.el("pre", { text: JSON.stringify(res, null, 1) })));
  }

  async function init() {
    let st, options;
    try {
      [st, options] = await Promise.all([NP.api("/api/forecast"), NP.api("/api/options")]);
    } catch (e) { NP.showError($("errors"), e.message); return; }
    if (!st.available) {
      $("status").replaceChildren(NP.el("p", { class: "notice", text: st.message[0].toUpperCase() + st.message.slice(1) +
        ". The Explorer and Trials pages work without it." }));
      return;
    }
    $("status").textContent = "Upload or type a patient's scores, then press Forecast.";
    const f = form(options);
    $("app").append(f, NP.el("div", { id: "result" }));
    $("file").addEventListener("change", async () => { const file = $("file").files[0]; if (file) $("history").value = await file.text(); });
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      NP.showError($("errors"), null);
      let history;
      try { history = parseHistory($("history").value, $("scale").value); } catch (e) { NP.showError($("errors"), e.message); return; }
      $("run").disabled = true;
      $("status").textContent = "Forecasting…";
      try {
        render(await NP.api("/api/forecast", { json: { history, horizon: $("horizon").value } }));
        $("status").textContent = "Done.";
      } catch (e) { NP.showError($("errors"), e.message); $("status").textContent = ""; }
      $("run").disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
