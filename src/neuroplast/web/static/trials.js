// Trials: run a shipped example or an uploaded TOML; live progress; arms, endpoints, published points with CIs.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let options = null, polling = null;

  async function init() {
    try {
      options = await NP.api("/api/options");
    } catch (e) { NP.showError($("errors"), e.message); return; }
    $("example").replaceChildren(...options.examples.map((x) =>
      NP.el("option", { value: x.name, text: `${x.title} (${x.arms.join(" vs ")})` })));
    $("n-hint").textContent = "Leave empty to use the file's n_per_arm. Small numbers (20–50) run in seconds.";
    $("file").addEventListener("change", () => { $("src-upload").checked = true; });
    $("example").addEventListener("change", () => { $("src-example").checked = true; });
    $("form").addEventListener("submit", (ev) => { ev.preventDefault(); start(); });
  }

  async function start() {
    NP.showError($("errors"), null);
    $("results").replaceChildren();
    const body = {};
    const n = $("n").value.trim(), seed = $("seed").value.trim();
    if (n !== "") body.n_per_arm = Number(n);
    if (seed !== "") body.seed = Number(seed);
    if ($("src-upload").checked) {
      const f = $("file").files[0];
      if (!f) { NP.showError($("errors"), "choose a trial file to upload, or pick a shipped example"); return; }
      body.toml = await f.text();
      body.filename = f.name;
    } else {
      body.example = $("example").value;
    }
    $("run").disabled = true;
    $("progress").value = 0;
    $("status").textContent = "Submitting…";
    let job;
    try {
      job = await NP.api("/api/trials", { json: body });
    } catch (e) {
      NP.showError($("errors"), e.message);
      $("status").textContent = "Not started.";
      $("run").disabled = false;
      return;
    }
    poll(job.status_url);
  }

  async function poll(url) {
    let st;
    try { st = await NP.api(url); } catch (e) {
      NP.showError($("errors"), e.message); $("run").disabled = false; return;
    }
    $("progress").value = st.fraction;
    $("progress").setAttribute("aria-valuetext", `${Math.round(100 * st.fraction)} %`);
    $("status").textContent = `${st.trial.title || st.trial.id}: ${st.state}, ${st.done} of ${st.total} patients` +
      (st.message ? ` — ${st.message}` : "");
    if (st.state === "done") { $("run").disabled = false; show(st); return; }
    if (st.state === "failed") { $("run").disabled = false; NP.showError($("errors"), st.error); return; }
    polling = setTimeout(() => poll(url), 400);
  }

  function doseText(d) {
    const when = d.at ? "at " + d.at.join(", ") : (d.count ? `${d.count}× every ${d.every || "—"} from ${d.start || "0 d"}` : "");
    return `${d.drug} ${d.amount || ""} ${d.route || "iv"}${d.duration ? " over " + d.duration : ""} ${when}`;
  }

  function show(st) {
    const s = st.summary, box = $("results"), arms = Object.keys(s.arms);
    box.replaceChildren();
    box.append(NP.el("h2", { text: `Results: ${st.trial.title || st.trial.id} (${s.scale})` }));
    const dl = NP.el("p", { class: "downloads" },
      NP.el("a", { href: st.downloads.summary, download: "summary.json", text: "Download summary.json" }),
      NP.el("a", { href: st.downloads.report, download: "report.html", text: "Download the report (HTML)" }));
    box.append(dl);
    // the CONSORT-style flow of report.html: randomised, failed (flagged, never averaged), left (with the
    // reasons), analysed
    box.append(NP.table("Arms: patient flow", ["arm", "randomised", "failed", "left the trial (reasons)", "analysed",
      `baseline ${s.scale}, mean (SD)`, "doses"],
      arms.map((a) => { const arm = s.arms[a], spec = st.trial.arms.find((x) => x.name === a);
        const failed = arm.n_failed ?? 0, left = arm.n_dropped ?? 0;
        const reasons = Object.entries(arm.dropped_reasons || {}).filter(([, k]) => k > 0)
          .map(([why, k]) => `${why} ${k}`).join(", ");
        return [a, String(arm.n + failed), String(failed), left ? `${left} (${reasons})` : "0",
                String(arm.n_analysed ?? arm.n), `${NP.num(arm.baseline.mean)} (${NP.num(arm.baseline.sd)})`,
                spec ? spec.doses.map(doseText).join("; ") : ""]; })));
    const ep = [];
    arms.forEach((a) => s.arms[a].timepoints.forEach((tp) => ep.push([a, tp.time, String(tp.n_observed ?? s.arms[a].n),
      NP.num(tp.mean_score), `${NP.num(tp.mean_change)} (${NP.num(tp.sd_change)})`, NP.pct(tp.response_rate),
      NP.pct(tp.remission_rate)])));
    box.append(NP.table("Endpoints", ["arm", "time", "observed", "mean score", "mean change (SD)", "response",
      "remission"], ep));
    if (s.contrasts.length) {
      box.append(NP.table(`Contrasts (first arm minus / over the second; analysis: ${s.analysis || "observed"})`,
        ["arms", "time", "method", "mean difference [95% CI]", "p", "odds ratio, response [95% CI]", "Cohen's d"],
        s.contrasts.map((c) => [c.arms.join(" vs "), c.time, c.method || "welch",
          `${NP.num(c.mean_difference)} [${NP.num(c.ci95[0])}, ${NP.num(c.ci95[1])}]`, pValue(c.p_value),
          c.response ? `${NP.num(c.response.odds_ratio)} [${NP.num(c.response.ci95[0])}, ${NP.num(c.response.ci95[1])}]`
            : NP.num(c.odds_ratio_response),
          NP.num(c.cohens_d)])));
    }
    const plots = NP.el("div", { class: "cards" });
    const scoreDiv = NP.el("div", { id: "score-plot", class: "plot", role: "img",
      "aria-label": `Mean ${s.scale} score per arm at each timepoint` });
    plots.append(scoreDiv);
    const pub = (st.published || []);
    let pubDiv = null;
    if (pub.length) {
      pubDiv = NP.el("div", { id: "published-plot", class: "plot", role: "img",
        "aria-label": "Published values with 95% confidence intervals beside the simulated values" });
      plots.append(pubDiv);
    }
    box.append(NP.el("h2", { text: "Simulated and published, side by side" }), plots);
    if (pub.length) {
      box.append(NP.table("Published points (95% CI) and the simulated value",
        ["study", "arms", "time", "metric", "published [95% CI]", "simulated", "inside the CI", "use"],
        pub.map((p) => [p.study, p.arm, p.time || "over the run", p.metric,
          `${NP.num(p.value)}${p.lo !== null && p.lo !== undefined ? ` [${NP.num(p.lo)}, ${NP.num(p.hi)}]` : ""}`,
          NP.num(p.simulated), p.ci_holds === null || p.ci_holds === undefined ? "n/a" : (p.ci_holds ? "yes" : "no"),
          p.use])));
    } else {
      box.append(NP.el("p", { class: "hint", text: "This trial names no published study (trial.compare_with)." }));
    }
    scorePlot(scoreDiv, s);
    if (pubDiv) publishedPlot(pubDiv, pub);
  }

  function pValue(p) {
    if (p === null || p === undefined) return "—";
    return p < 0.001 ? "< 0.001" : p.toFixed(3);
  }

  function scorePlot(div, s) {
    const traces = Object.keys(s.arms).map((a, i) => {
      const tps = s.arms[a].timepoints;
      return { x: [0, ...tps.map((t) => t.time_h / 24)], y: [s.arms[a].baseline.mean, ...tps.map((t) => t.mean_score)],
               error_y: { type: "data", array: [s.arms[a].baseline.sd, ...tps.map((t) => t.sd_change)], visible: true, thickness: 1 },
               name: a, mode: "lines+markers", line: { color: NP.colors[i % NP.colors.length] } };
    });
    Plotly.react(div, traces, { title: { text: `Mean ${s.scale} score (bars: SD of change)` }, height: 380,
      xaxis: { title: { text: "days from the first dose" } }, yaxis: { title: { text: s.scale }, rangemode: "tozero" },
      margin: { l: 60, r: 20, t: 80, b: 50 }, legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" } },
      { responsive: true, displaylogo: false });
  }

  function publishedPlot(div, pub) {
    const metrics = [...new Set(pub.map((p) => p.metric))];
    const rows = metrics.map((m) => {
      const ps = pub.filter((p) => p.metric === m);
      const cat = ps.map((p) => `${p.arm} · ${p.time || "run"}`);
      const hover = ps.map((p) => `${p.study}<br>${p.arm}, ${p.time || "over the run"}`);
      const hasCI = ps.map((p) => p.lo !== null && p.lo !== undefined);
      return { title: m.replace(/_/g, " "), traces: [
        { x: cat, y: ps.map((p) => p.value), text: hover, name: "published (95% CI)", legendgroup: "pub", showlegend: m === metrics[0],
          mode: "markers", marker: { color: "#1b1b1b", symbol: "diamond", size: 9 },
          error_y: { type: "data", symmetric: false, visible: true,
                     array: ps.map((p, i) => hasCI[i] ? p.hi - p.value : 0),
                     arrayminus: ps.map((p, i) => hasCI[i] ? p.value - p.lo : 0) } },
        { x: cat, y: ps.map((p) => p.simulated), text: hover, name: "simulated", legendgroup: "sim", showlegend: m === metrics[0],
          mode: "markers", marker: { color: "#c0392b", size: 10 } }] };
    });
    // one row per metric: each has its own categories, so rows get their own x axes here
    const n = rows.length, gap = 0.12, h = (1 - gap * (n - 1)) / n;
    const layout = { height: 160 * n + 120, title: { text: "Published (95% CI) vs simulated" },
                     margin: { l: 60, r: 30, t: 80, b: 30 }, showlegend: true,
                     legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom" }, annotations: [] };
    const traces = [];
    rows.forEach((r, i) => {
      const ax = i === 0 ? "" : String(i + 1), top = 1 - i * (h + gap);
      layout["yaxis" + ax] = { domain: [top - h, top], anchor: "x" + ax };
      layout["xaxis" + ax] = { anchor: "y" + ax, tickfont: { size: 10 }, automargin: true };
      layout.annotations.push({ text: "<b>" + r.title + "</b>", xref: "paper", yref: "paper", x: 0, y: top,
                                xanchor: "left", yanchor: "bottom", showarrow: false });
      r.traces.forEach((t) => traces.push(Object.assign({ xaxis: "x" + ax, yaxis: "y" + ax }, t)));
    });
    Plotly.react(div, traces, layout, { responsive: true, displaylogo: false });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
