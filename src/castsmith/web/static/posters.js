// The actor page's poster panel: the current poster, the history and the compare view
// of any two versions (side by side, or overlaid with a wipe slider), from which a
// version is made current. Everything is redrawn from GET /api/actors/{id}/poster-frames.
// The regenerate dialog is poster_dialog.js.
"use strict";

(function () {
  const cs = window.cs;
  let actorId = null;
  let actorName = "";
  let items = null; // the history, newest first, once loaded
  const pair = { a: null, b: null }; // the versions in the compare view

  const $ = (id) => document.getElementById(id);
  const text = (value) => document.createTextNode(value);
  const byVersion = (version) => (items || []).find((v) => v.version === Number(version)) || null;
  const currentOf = (list) => list.find((v) => v.is_current) || null;

  // --- the panel: current poster and history ----------------------------------------
  function currentBadge(label) {
    return cs.el("span", { class: "badge badge-current", text: label });
  }

  function renderCurrent(list) {
    const box = $("poster-current");
    const current = currentOf(list);
    if (!current) {
      const why = list.length ? "No version is the current poster: make one current from the history." : "No poster yet.";
      box.replaceChildren(cs.el("p", { class: "muted", text: why }));
      return;
    }
    const seed = current.seed === null || current.seed === undefined ? "" : " · seed " + current.seed;
    box.replaceChildren(
      cs.el("figure", { class: "figure current-poster", "data-version": String(current.version) }, [
        cs.posterImage(current.poster_frames, "Current poster of " + actorName, "(max-width: 600px) 90vw, 360px"),
        cs.el("figcaption", {}, [currentBadge("Current poster"), cs.el("span", { text: "v" + current.version + seed }), current.placeholder ? cs.placeholderBadge() : null]),
      ])
    );
  }

  function renderHistory(list) {
    const many = list.length > 1;
    $("poster-history").replaceChildren(
      ...list.map((v) =>
        cs.el("li", { class: "item" + (v.is_current ? " is-current" : ""), "data-version": String(v.version) }, [
          cs.posterImage(v.poster_frames, "Poster version " + v.version, "140px"),
          cs.el("div", { class: "body" }, [
            cs.el("span", {}, [text("v" + v.version + " "), v.is_current ? cs.el("strong", { class: "badge badge-current", text: "current" }) : null, v.placeholder ? cs.placeholderBadge() : null]),
            many ? cs.el("button", { type: "button", class: "btn", "data-action": "compare", "data-version": String(v.version), "aria-label": "Compare version " + v.version, text: "Compare" }) : null,
            v.is_current ? null : cs.el("button", { type: "button", class: "btn", "data-action": "make-current", "data-version": String(v.version), text: "Make current" }),
          ]),
        ])
      )
    );
    $("poster-compare-open").disabled = !many;
  }

  async function reload() {
    items = (await cs.api("GET", "/api/actors/" + actorId + "/poster-frames")).items;
    renderCurrent(items);
    renderHistory(items);
    if ($("compare-view").open) renderCompare();
    return items;
  }

  async function ensureItems() {
    return items || reload();
  }

  async function makeCurrent(version) {
    try {
      await cs.api("POST", "/api/actors/" + actorId + "/poster-frames/" + version + "/make-current");
      await reload();
      cs.toast("Version " + version + " is now the current poster.", "success");
    } catch (error) {
      cs.toast("Could not make version " + version + " current: " + error.message, "error");
    }
  }

  // --- the compare view ---------------------------------------------------------------
  function loraText(lora) {
    if (!lora) return "none";
    const name = String(lora.name || "").replace(/\.safetensors$/, "");
    const clip = lora.strength_clip !== lora.strength_model ? " / CLIP " + lora.strength_clip : "";
    return name + " at " + lora.strength_model + clip;
  }

  /** The parameters a version was drawn with, from its provenance. */
  function paramsList(v) {
    const p = v.params || {};
    const rows = [
      ["Style LoRA", loraText(p.style_lora)],
      ["Character LoRA", loraText(p.character_lora)],
      ["Steps", p.steps],
      ["Guidance", p.guidance],
      ["Seed", v.seed],
      ["Size", p.width && p.height ? p.width + " × " + p.height : null],
      ["TeaCache", p.teacache],
      ["Drawn by", v.provider],
      ["Drawn on", v.created_at ? new Date(v.created_at).toLocaleString() : null],
      ["Job", v.job_id ? "#" + v.job_id : null],
    ].filter((row) => row[1] !== null && row[1] !== undefined && row[1] !== "");
    const list = cs.el("dl", { class: "params" });
    for (const [term, value] of rows) list.append(cs.el("dt", { text: term }), cs.el("dd", { text: String(value) }));
    for (const note of v.notes || []) list.append(cs.el("dt", { text: "Note" }), cs.el("dd", { text: note }));
    return list;
  }

  // One version of the pair: its name and state with the make-current button first (in
  // sight without scrolling, also on a phone), then the picture and its parameters.
  function side(v, which) {
    const action = v.is_current
      ? null
      : cs.el("button", { type: "button", class: "btn btn-primary", "data-action": "make-current", "data-version": String(v.version), text: "Make v" + v.version + " current" });
    const head = cs.el("figcaption", {}, [
      cs.el("strong", { text: "v" + v.version }),
      v.is_current ? currentBadge("Current poster") : cs.el("span", { class: "badge", text: "not current" }),
      v.placeholder ? cs.placeholderBadge() : null,
      action,
    ]);
    return cs.el("figure", { class: "figure compare-side", "data-side": which, "data-version": String(v.version) }, [
      head,
      cs.posterImage(v.poster_frames, (which === "a" ? "Left: " : "Right: ") + "poster version " + v.version, "(max-width: 600px) 45vw, 480px"),
      paramsList(v),
    ]);
  }

  function fillSelect(select, chosen) {
    select.replaceChildren(
      ...items.map((v) => cs.el("option", { value: String(v.version), selected: v.version === chosen, text: "v" + v.version + (v.is_current ? " (current)" : "") }))
    );
    select.value = String(chosen);
  }

  function setWipe(percent) {
    const value = Math.max(0, Math.min(100, Number(percent)));
    $("wipe-b").style.clipPath = "inset(0 0 0 " + value + "%)";
    $("compare-wipe").style.setProperty("--wipe", value + "%");
  }

  function renderOverlay(a, b) {
    const src = (v) => (v.poster_frames && v.poster_frames.standard) || {};
    for (const [img, v, where] of [[$("wipe-a"), a, "left"], [$("wipe-b"), b, "right"]]) {
      const s = src(v);
      img.src = s.webp_lg || s.webp_md || "";
      img.alt = "Poster version " + v.version + " (" + where + " of the wipe)";
    }
    const lg = (a.sizes && a.sizes.lg) || {};
    $("compare-wipe").style.aspectRatio = lg.width && lg.height ? lg.width + " / " + lg.height : "1 / 1";
    $("wipe-tag-a").textContent = "v" + a.version + (a.is_current ? " · current" : "");
    $("wipe-tag-b").textContent = "v" + b.version + (b.is_current ? " · current" : "");
    $("compare-slider").setAttribute("aria-label", "Wipe between version " + a.version + " (left) and version " + b.version + " (right)");
    $("compare-slider-label").textContent = "Slide to wipe from v" + a.version + " to v" + b.version;
    setWipe($("compare-slider").value);
  }

  function renderCompare() {
    let a = byVersion(pair.a);
    let b = byVersion(pair.b);
    if (!a || !b) {
      [a, b] = defaultPair(null);
      pair.a = a.version;
      pair.b = b.version;
    }
    fillSelect($("compare-a"), a.version);
    fillSelect($("compare-b"), b.version);
    $("compare-sides").replaceChildren(side(a, "a"), side(b, "b"));
    renderOverlay(a, b);
    // The pair is in the address, so a comparison can be reloaded or sent to someone.
    window.history.replaceState(null, "", "#compare=" + a.version + "," + b.version);
  }

  /** Two versions to start from: ``version`` against the current poster (or the
   * newest other one), or without one, the current poster against the newest other. */
  function defaultPair(version) {
    const current = currentOf(items) || items[0];
    const picked = version === null ? null : byVersion(version);
    if (picked && picked.version !== current.version) return [current, picked];
    const other = items.find((v) => v.version !== current.version) || current;
    return [current, other];
  }

  /** Open the compare view on ``version`` (against the current poster), or on exactly
   * ``version`` and ``other`` when both are given and exist. ``unasked``: the page
   * opens it by itself (a draft just drawn), not the user's click or link. */
  async function openCompare(version, other, unasked) {
    try {
      await reload();
    } catch (error) {
      cs.toast("Could not load the poster history: " + error.message, "error");
      return;
    }
    // Opened by the page itself, it must not pop over what the user turned to while
    // the draft was drawn (another dialog, or a comparison they opened themselves and
    // whose pair would change under them): the toast says the draft is ready, and the
    // history's Compare button shows it.
    if (unasked && document.querySelector("dialog[open]")) return;
    if (items.length < 2) {
      cs.toast("Draw another poster first: there is only one version.", "info");
      return;
    }
    let [a, b] = defaultPair(version === undefined ? null : Number(version));
    if (other !== undefined && byVersion(version) && byVersion(other)) [a, b] = [byVersion(version), byVersion(other)];
    pair.a = a.version;
    pair.b = b.version;
    renderCompare();
    const dialog = $("compare-view");
    if (!dialog.open) dialog.showModal();
    $("compare-a").focus();
  }

  function setMode(mode) {
    const overlay = mode === "overlay";
    $("compare-overlay").hidden = !overlay;
    $("compare-view").classList.toggle("mode-overlay", overlay);
  }

  function wireWipe() {
    const slider = $("compare-slider");
    slider.addEventListener("input", () => setWipe(slider.value));
    // Dragging on the picture moves the wipe too (the slider stays the keyboard way).
    const wipe = $("compare-wipe");
    const follow = (event) => {
      const box = wipe.getBoundingClientRect();
      if (!box.width) return;
      slider.value = String(Math.round(((event.clientX - box.left) / box.width) * 100));
      setWipe(slider.value);
    };
    wipe.addEventListener("pointerdown", (event) => {
      wipe.setPointerCapture(event.pointerId);
      follow(event);
    });
    wipe.addEventListener("pointermove", (event) => {
      if (wipe.hasPointerCapture(event.pointerId)) follow(event);
    });
  }

  // What the regenerate dialog (poster_dialog.js) needs of the panel.
  window.csPosters = {
    reload: reload,
    ensureItems: ensureItems,
    openCompare: openCompare,
    current: () => currentOf(items || []),
  };

  document.addEventListener("DOMContentLoaded", () => {
    const head = $("actor");
    if (!head || !$("posters")) return;
    actorId = head.dataset.actorId;
    actorName = head.dataset.actorName;
    $("poster-compare-open").addEventListener("click", () => openCompare());
    $("poster-history").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action]");
      if (!button) return;
      if (button.dataset.action === "compare") openCompare(button.dataset.version);
      else makeCurrent(button.dataset.version);
    });
    $("compare-sides").addEventListener("click", async (e) => {
      const button = e.target.closest('button[data-action="make-current"]');
      if (!button) return;
      await makeCurrent(button.dataset.version);
      // The button is gone once its version is current: keep the focus in the view.
      if ($("compare-view").open) $("compare-a").focus();
    });
    $("compare-a").addEventListener("change", (e) => { pair.a = Number(e.target.value); renderCompare(); });
    $("compare-b").addEventListener("change", (e) => { pair.b = Number(e.target.value); renderCompare(); });
    for (const radio of document.querySelectorAll('input[name="compare_mode"]')) radio.addEventListener("change", (e) => setMode(e.target.value));
    wireWipe();
    $("compare-view").addEventListener("close", () => window.history.replaceState(null, "", location.pathname + location.search));
    const linked = /^#compare=(\d+),(\d+)$/.exec(location.hash);
    if (linked) openCompare(Number(linked[1]), Number(linked[2]));
  });
})();
