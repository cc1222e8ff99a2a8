// Shared helpers of the neuroplast pages: API calls, error display, linked plots. Plain JS, no build step.
"use strict";

const NP = {};

NP.api = async function (path, options = {}) {
  const opts = Object.assign({ headers: {} }, options);
  if (opts.json !== undefined) {
    opts.method = opts.method || "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(opts.json);
    delete opts.json;
  }
  let response;
  try {
    response = await fetch(path, opts);
  } catch (e) {
    throw new Error("the server cannot be reached (" + e.message + ")");
  }
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const msg = body && body.detail ? body.detail : ("HTTP " + response.status);
    const err = new Error(msg);
    err.status = response.status;
    throw err;
  }
  return body;
};

NP.el = function (tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};

NP.showError = function (box, message) {
  box.replaceChildren();
  if (message) box.append(NP.el("p", { class: "error", role: "alert", text: "Error: " + message }));
};

NP.num = function (x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
};

NP.pct = function (x) { return x === null || x === undefined ? "—" : (100 * x).toFixed(0) + " %"; };

NP.table = function (caption, header, rows) {
  const t = NP.el("table");
  if (caption) t.append(NP.el("caption", { text: caption }));
  const thead = NP.el("thead"), tr = NP.el("tr");
  header.forEach((h) => tr.append(NP.el("th", { scope: "col", text: h })));
  thead.append(tr); t.append(thead);
  const tb = NP.el("tbody");
  rows.forEach((r) => {
    const row = NP.el("tr");
    r.forEach((c, i) => {
      const cell = NP.el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {});
      if (c instanceof Node) cell.append(c); else cell.textContent = c;
      row.append(cell);
    });
    tb.append(row);
  });
  t.append(tb);
  return NP.el("div", { class: "scroll" }, t);
};

NP.colors = ["#0b4fa8", "#c0392b", "#1e7d32", "#7b3fa0", "#b35c00", "#00707a", "#8a6d00", "#444444"];

// Stacked plots sharing one x axis (zoom one, all follow; a spike line marks the same time in every row).
// rows: [{title, traces:[plotly traces]}]; each row gets its own legend beside it.
NP.linkedPlot = function (div, rows, opts = {}) {
  const rowH = opts.rowHeight || 190;
  // a row is as tall as its legend needs (about 15 px an entry), at least rowH
  const px = rows.map((r) => Math.max(rowH, 15 * r.traces.filter((t) => t.showlegend !== false).length + 20));
  const total = px.reduce((a, b) => a + b, 0), gapPx = 28, plotPx = total + gapPx * (rows.length - 1);
  const layout = {
    height: Math.max(260, plotPx + 90), margin: { l: 70, r: 240, t: 30, b: 50 },
    showlegend: true, hovermode: "closest", font: { color: "#1b1b1b" },
    xaxis: { title: { text: opts.xTitle || "" }, anchor: "y" + (rows.length > 1 ? rows.length : ""), showspikes: true,
             spikemode: "across", spikesnap: "cursor", spikethickness: 1, spikecolor: "#555" },
    annotations: [], shapes: opts.shapes || [],
  };
  const traces = [];
  let used = 0;
  rows.forEach((row, i) => {
    const ax = i === 0 ? "" : String(i + 1);
    const top = 1 - used / plotPx, bottom = 1 - (used + px[i]) / plotPx;
    used += px[i] + gapPx;
    layout["yaxis" + ax] = { domain: [Math.max(bottom, 0), top], title: { text: row.yTitle || "", font: { size: 11 } },
                             automargin: true, rangemode: row.rangemode || "normal" };
    layout["legend" + ax] = { x: 1.01, xanchor: "left", y: top, yanchor: "top", font: { size: 10 },
                              bgcolor: "rgba(255,255,255,0)", tracegroupgap: 0 };
    layout.annotations.push({ text: "<b>" + row.title + "</b>", xref: "paper", yref: "paper", x: 0, y: top,
                              xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 12 } });
    row.traces.forEach((t) => traces.push(Object.assign({ xaxis: "x", yaxis: "y" + ax, legend: "legend" + ax }, t)));
  });
  Plotly.react(div, traces, layout, { responsive: true, displaylogo: false });
};

// Mark the current page in the navigation.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("header nav a").forEach((a) => {
    if (a.getAttribute("href") === location.pathname) a.setAttribute("aria-current", "page");
  });
});
