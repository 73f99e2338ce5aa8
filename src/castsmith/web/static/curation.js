// Dataset curation on the actor page: the readiness report above the training grid,
// a badge row on each image (verdict, identity as a match percentage, sharpness,
// near-copy group), sorting and filtering by them, a side-by-side compare with the base
// image, and adding one's own photographs by dropping them on the grid.
(function () {
  "use strict";
  const root = document.getElementById("curation");
  if (!root || !window.cs) return;
  const cs = window.cs;
  const actorId = root.dataset.actorId;
  const base = "/api/actors/" + actorId + "/training-data";
  const grid = document.getElementById("training-grid");
  let entries = new Map();
  let threshold = 0.6;
  let refreshTimer = null;
  let observer = null;

  const rank = { "reject-suggested": 0, warn: 1, pending: 2, ok: 3 };

  // Identity as a match percentage: 100 % at distance 0, 50 % at the threshold.
  function matchPercent(distance) {
    return Math.max(0, Math.round(100 * (1 - distance / (2 * threshold))));
  }

  function badges(entry) {
    const c = entry.checks || { verdict: "pending", reasons: [] };
    const out = [cs.el("span", { class: "badge badge-" + c.verdict, text: c.verdict })];
    if (c.identity_distance !== null && c.identity_distance !== undefined) {
      out.push(cs.el("span", {
        class: "badge",
        title: "identity distance " + c.identity_distance.toFixed(2) + ", threshold " + threshold.toFixed(2),
        text: matchPercent(c.identity_distance) + " % match",
      }));
    }
    if (c.sharpness !== null && c.sharpness !== undefined && !c.placeholder) {
      const soft = (c.reasons || []).some((r) => r.startsWith("blurred"));
      out.push(cs.el("span", { class: "badge" + (soft ? " badge-warn" : ""), title: "sharpness " + c.sharpness, text: soft ? "blurred" : "sharp" }));
    }
    if (c.duplicate_of) out.push(cs.el("span", { class: "badge badge-warn", text: "copy of " + c.duplicate_of.replace(/^.*_(\d+)\.\w+$/, "#$1") }));
    return out;
  }

  function decorate() {
    for (const node of grid.querySelectorAll(".item[data-item-id]")) {
      const entry = entries.get(node.dataset.itemId);
      if (!entry) continue;
      const body = node.querySelector(".body") || node;
      body.querySelector(".curation-badges")?.remove();
      body.querySelector(".curation-reasons")?.remove();
      const reasons = (entry.checks && entry.checks.reasons) || [];
      const row = cs.el("div", { class: "curation-badges" }, badges(entry));
      row.append(cs.el("button", { type: "button", class: "btn", "data-compare": node.dataset.itemId, text: "Compare" }));
      body.prepend(row);
      if (reasons.length) body.append(cs.el("ul", { class: "curation-reasons" }, reasons.map((r) => cs.el("li", { text: r }))));
    }
    arrange();
  }

  function matches(entry, filter) {
    const c = entry.checks || { verdict: "pending", reasons: [] };
    if (filter === "all") return true;
    if (filter === "duplicate") return Boolean(c.duplicate_of);
    if (filter === "blurred") return (c.reasons || []).some((r) => r.startsWith("blurred"));
    return c.verdict === filter;
  }

  function sortKey(entry, by) {
    const c = entry.checks || {};
    if (by === "verdict") return rank[c.verdict || "pending"];
    if (by === "identity") return -(c.identity_distance ?? -1);
    if (by === "sharpness") return c.sharpness ?? Infinity;
    return entry.n;
  }

  function arrange() {
    const by = document.getElementById("curation-sort").value;
    const filter = document.getElementById("curation-filter").value;
    // Moving nodes here must not look like actor.js redrawing the grid.
    if (observer) observer.disconnect();
    const nodes = [...grid.querySelectorAll(".item[data-item-id]")];
    nodes.sort((a, b) => {
      const ea = entries.get(a.dataset.itemId), eb = entries.get(b.dataset.itemId);
      if (!ea || !eb) return 0;
      return sortKey(ea, by) - sortKey(eb, by) || ea.n - eb.n;
    });
    for (const node of nodes) {
      const entry = entries.get(node.dataset.itemId);
      node.hidden = entry ? !matches(entry, filter) : false;
      grid.append(node);
    }
    if (observer) observer.observe(grid, { childList: true });
  }

  function showReport(report) {
    threshold = report.identity.threshold;
    const box = document.getElementById("curation-report");
    const k = report.counts;
    const spread = report.identity.median === null ? "identity not measured"
      : "identity distance median " + report.identity.median.toFixed(2) + ", worst " + report.identity.worst.toFixed(2) + " (threshold " + threshold.toFixed(2) + ")";
    box.className = "curation-report " + (report.ready ? "ready" : "not-ready");
    box.replaceChildren(
      cs.el("h3", { text: report.ready ? "Ready for LoRA training" : "Not ready for LoRA training" }),
      cs.el("div", { class: "curation-figures" }, [
        cs.el("span", { text: k.usable + " usable of " + k.images + " (at least " + report.min_images + ")" }),
        cs.el("span", { text: spread }),
        cs.el("span", { text: k.duplicates + " near-copies" }),
        cs.el("span", { text: k.blurred + " blurred" }),
        cs.el("span", { text: k.reject_suggested + " to reject" }),
        k.pending ? cs.el("span", { text: k.pending + " being checked" }) : null,
        k.placeholder ? cs.el("span", { text: k.placeholder + " placeholder art" }) : null,
      ]),
      report.reasons.length ? cs.el("ul", {}, report.reasons.map((r) => cs.el("li", { text: r }))) : null,
    );
  }

  async function refresh() {
    const [listing, report] = await Promise.all([cs.api("GET", base), cs.api("GET", base + "/report")]);
    entries = new Map(listing.training_data.map((e) => [String(e.id), e]));
    showReport(report);
    decorate();
    // Keep looking while checks run.
    if (report.counts.pending) schedule(1500);
  }

  function schedule(ms) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => refresh().catch(() => null), ms);
  }

  async function upload(files) {
    if (!files.length) return;
    const form = new FormData();
    for (const file of files) form.append("files", file);
    try {
      const answer = await cs.api("POST", base + "/upload", form);
      cs.toast(answer.items.length + " photograph(s) added; checking them", "info");
      // The grid itself is drawn by actor.js: a reload there shows the new images.
      window.location.reload();
    } catch (error) {
      cs.toast("Could not add the photographs: " + error.message, "error");
    }
  }

  async function runCheck(triage) {
    try {
      await cs.api("POST", base + "/check?wait=120" + (triage ? "&auto_triage=true" : ""));
      if (triage) window.location.reload();
      else await refresh();
    } catch (error) {
      cs.toast("The check failed: " + error.message, "error");
    }
  }

  function compare(itemId) {
    const entry = entries.get(itemId);
    const dialog = document.getElementById("curation-compare");
    if (!entry) return;
    document.getElementById("curation-compare-base").src = root.dataset.baseUrl || "";
    document.getElementById("curation-compare-item").src = entry.url;
    const c = entry.checks || {};
    const distance = c.identity_distance === null || c.identity_distance === undefined ? "identity not measured"
      : matchPercent(c.identity_distance) + " % match (distance " + c.identity_distance.toFixed(2) + ")";
    document.getElementById("curation-compare-caption").textContent = entry.filename + " · " + distance;
    document.getElementById("curation-compare-reasons").replaceChildren(...(c.reasons || []).map((r) => cs.el("li", { text: r })));
    dialog.showModal();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("curation-sort").addEventListener("change", arrange);
    document.getElementById("curation-filter").addEventListener("change", arrange);
    document.getElementById("curation-files").addEventListener("change", (e) => upload([...e.target.files]));
    document.getElementById("curation-check").addEventListener("click", () => runCheck(false));
    document.getElementById("curation-triage").addEventListener("click", () => runCheck(true));
    grid.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-compare]");
      if (button) compare(button.dataset.compare);
    });
    grid.addEventListener("dragover", (e) => { e.preventDefault(); grid.classList.add("curation-drop"); });
    grid.addEventListener("dragleave", () => grid.classList.remove("curation-drop"));
    grid.addEventListener("drop", (e) => {
      e.preventDefault();
      grid.classList.remove("curation-drop");
      upload([...e.dataTransfer.files]);
    });
    // actor.js redraws the grid as images arrive: badge the new nodes and look again.
    observer = new MutationObserver(() => {
      if (grid.querySelector(".item[data-item-id] .body:not(:has(.curation-badges))")) schedule(400);
    });
    observer.observe(grid, { childList: true });
    refresh().catch(() => null);
  });
})();
