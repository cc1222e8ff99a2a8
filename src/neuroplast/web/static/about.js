// About: what the model is, its sources, and that it is research software, not a medical device.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  function sourceItem(s) {
    const li = NP.el("li");
    li.append(NP.el("strong", { text: s.id }), ": ");
    if (s.quantity) li.append(s.quantity + " — ");
    li.append(s.citation || "");
    if (s.url) { li.append(" "); li.append(NP.el("a", { href: s.url, rel: "noreferrer", text: "source" })); }
    li.append(s.verified ? " (verified)" : " (not verified)");
    return li;
  }

  async function init() {
    let a;
    try { a = await NP.api("/api/about"); } catch (e) { NP.showError($("errors"), e.message); return; }
    $("status").textContent = "";
    const box = $("about");
    box.append(
      NP.el("p", { class: "notice", role: "note", text: a.disclaimer + " It must not be used to make decisions about the care of any patient." }),
      NP.el("p", { text: a.summary }),
      NP.el("h2", { text: "The scales it simulates" }),
      NP.el("ol", {}, ...a.scales.map((s) => NP.el("li", { text: s.title }))),
      NP.el("h2", { text: "Evidence" }),
      NP.el("p", { text: `${a.parameters.count} model parameters, each with a value, a unit and a source; ` +
        `${a.parameters.assumptions} are marked as assumptions with a reason (neuroplast params lists them). ` +
        `Free parameters are fitted to published trial outcomes; other outcomes are held out to test the model.` }),
      NP.el("details", { open: true }, NP.el("summary", { text: `Clinical studies (${a.clinical_studies.length})` }),
        NP.el("ul", { class: "sources" }, ...a.clinical_studies.map(sourceItem))),
      NP.el("details", {}, NP.el("summary", { text: `Mechanistic sources (${a.mechanistic_sources.length})` }),
        NP.el("ul", { class: "sources" }, ...a.mechanistic_sources.map(sourceItem))),
      NP.el("p", { class: "hint", text: `neuroplast ${a.version}. The equations and the calibration are described in docs/model.md.` }),
    );
  }

  document.addEventListener("DOMContentLoaded", init);
})();
