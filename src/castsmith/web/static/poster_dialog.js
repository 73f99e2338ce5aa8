// The actor page's regenerate dialog: the poster parameters (style LoRA and strength,
// character LoRA strengths, steps, guidance, seed kept or new, size, TeaCache), opened
// with the actor's remembered defaults, remembered again when drawing, and "make it the
// current poster" (unticked: a draft to compare first). posters.js owns the panel.
"use strict";

(function () {
  const cs = window.cs;
  const $ = (id) => document.getElementById(id);
  const panel = () => window.csPosters;
  let actorId = null;
  let actorName = "";

  function option(value, label, chosen) {
    return cs.el("option", { value: value, selected: value === chosen, text: label });
  }

  function sizeLabel(w, h) {
    const shape = w === h ? "square" : w < h ? "portrait" : "landscape";
    return w + " × " + h + " (" + shape + ")";
  }

  function fillForm(options, saved) {
    const base = options.defaults;
    const pick = (key) => (saved[key] !== undefined && saved[key] !== null ? saved[key] : base[key]);
    const style = pick("style_lora");
    const styles = options.style_loras.slice();
    if (style && !styles.includes(style)) styles.push(style);
    $("p-style").replaceChildren(option("", "None (no style LoRA)", style), ...styles.map((name) => option(name, name, style)));
    $("p-style").value = style;
    $("p-style-strength").value = pick("style_lora_strength");
    for (const [id, key] of [["p-lora-model", "lora_strength_model"], ["p-lora-clip", "lora_strength_clip"]]) {
      if (!$(id).disabled && saved[key] !== undefined) $(id).value = saved[key];
    }
    $("p-steps").value = pick("steps");
    $("p-guidance").value = pick("guidance");
    const size = pick("width") + "x" + pick("height");
    const sizes = options.sizes.map((s) => s[0] + "x" + s[1]);
    if (!sizes.includes(size)) sizes.push(size);
    $("p-size").replaceChildren(...sizes.map((s) => option(s, sizeLabel(...s.split("x").map(Number)), size)));
    $("p-size").value = size;
    $("p-teacache").value = pick("teacache");
    const current = panel().current();
    const keep = saved.seed !== undefined && saved.seed !== null;
    $("p-seed").value = keep ? saved.seed : current && current.seed !== null ? current.seed : "";
    $(keep ? "p-seed-keep" : "p-seed-new").checked = true;
    syncSeed();
    $("p-make-current").checked = true;
  }

  function syncSeed() {
    const keep = $("p-seed-keep").checked;
    $("p-seed").disabled = !keep;
    $("p-seed").required = keep;
  }

  /** The dialog's values as API fields (numbers as numbers, only enabled inputs). */
  function readForm() {
    const [width, height] = $("p-size").value.split("x").map(Number);
    const params = {
      style_lora: $("p-style").value,
      style_lora_strength: Number($("p-style-strength").value),
      steps: Number($("p-steps").value),
      guidance: Number($("p-guidance").value),
      width: width,
      height: height,
      teacache: $("p-teacache").value,
    };
    for (const [id, key] of [["p-lora-model", "lora_strength_model"], ["p-lora-clip", "lora_strength_clip"]]) {
      if (!$(id).disabled && $(id).value !== "") params[key] = Number($(id).value);
    }
    if ($("p-seed-keep").checked) params.seed = Number($("p-seed").value);
    return params;
  }

  /** What to remember of ``params``: a character LoRA strength equal to the LoRA
   * settings' is left out, so changing those settings later still reaches the posters. */
  function toRemember(params) {
    const kept = Object.assign({}, params);
    for (const [id, key] of [["p-lora-model", "lora_strength_model"], ["p-lora-clip", "lora_strength_clip"]]) {
      const setting = $(id).dataset.loraSetting;
      if (setting !== undefined && Number(setting) === kept[key]) delete kept[key];
    }
    return kept;
  }

  async function openRegenerate() {
    const button = $("poster-regenerate");
    try {
      const [options, saved] = await Promise.all([
        cs.api("GET", "/api/poster-frames/options"),
        cs.api("GET", "/api/actors/" + actorId + "/poster-defaults"),
        panel().ensureItems(),
      ]);
      fillForm(options, saved);
    } catch (error) {
      cs.toast("Could not open the poster settings: " + error.message, "error");
      return;
    }
    const dialog = $("poster-dialog");
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      () => {
        button.focus();
        if (dialog.returnValue === "draw") draw(readForm(), $("p-make-current").checked, $("p-remember").checked);
      },
      { once: true }
    );
    dialog.showModal();
    // Enter draws at once; the dialog still opens at its top (its title, on a phone).
    $("poster-draw").focus({ preventScroll: true });
    dialog.scrollTop = 0;
  }

  async function draw(params, makeCurrentToo, remember) {
    const button = $("poster-regenerate");
    const bar = $("poster-progress");
    cs.toast("Regenerating poster frame for " + actorName + "...");
    cs.busy(button, "Generating...");
    cs.setProgress(bar, 0);
    try {
      if (remember) await cs.api("PUT", "/api/actors/" + actorId + "/poster-defaults", toRemember(params));
      const body = Object.assign({ actor_name: actorName, make_current: makeCurrentToo }, params);
      if (params.seed === undefined) body.new_seed = true;
      const accepted = await cs.api("POST", "/api/actors/" + actorId + "/regenerate-poster-frame", body);
      const job = await cs.followJob(accepted.job_id, (u) => {
        cs.setProgress(bar, u.progress);
        button.textContent = "Generating... " + Math.round(Number(u.progress) || 0) + "%";
      });
      if (job.status !== "completed") throw new Error(job.error || "the poster job ended " + job.status);
      await panel().reload();
      const version = job.result && job.result.poster ? job.result.poster.version : null;
      if (makeCurrentToo) {
        cs.toast("New poster frame for " + actorName + " is ready.", "success");
      } else {
        cs.toast("Version " + version + " is ready to compare; the current poster is unchanged.", "success");
        // Once, for this draft, and only if the user is not busy with another dialog.
        if (version !== null) panel().openCompare(version, undefined, true);
      }
    } catch (error) {
      cs.toast("Poster regeneration failed for " + actorName + ": " + error.message, "error");
    } finally {
      cs.idle(button);
      bar.hidden = true;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const head = $("actor");
    if (!head || !$("poster-dialog")) return;
    actorId = head.dataset.actorId;
    actorName = head.dataset.actorName;
    $("poster-regenerate").addEventListener("click", openRegenerate);
    for (const radio of document.querySelectorAll('input[name="seed_mode"]')) radio.addEventListener("change", syncSeed);
  });
})();
