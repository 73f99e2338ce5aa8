// The actor page: base image (generate, upload, URL), the training data manager and
// the LoRA form. The poster panel (history, compare, regenerate) is posters.js.
"use strict";

(function () {
  const cs = window.cs;
  let actorId = null;
  let actorName = "";

  // --- base image ------------------------------------------------------------------
  function showBase(actor, placeholder) {
    const box = document.getElementById("base-image");
    if (!actor.base_image_url) return;
    const children = [cs.el("img", { class: "base-image", src: actor.base_image_url, alt: "Base image of " + actor.name })];
    if (placeholder) children.push(cs.placeholderBadge());
    box.replaceChildren(...children);
  }

  async function generateBase(button) {
    const bar = document.getElementById("base-progress");
    cs.busy(button, "Generating...");
    cs.setProgress(bar, 0);
    try {
      const job = await cs.api("POST", "/api/actors/" + actorId + "/base-image/generate", {});
      const done = await cs.followJob(job.job_id, (u) => cs.setProgress(bar, u.progress));
      if (done.status !== "completed") throw new Error(done.error || "the job ended " + done.status);
      showBase(await cs.api("GET", "/api/actors/" + actorId), true);
      cs.toast("New base image for " + actorName + ".", "success");
    } catch (error) {
      cs.toast("Base image failed: " + error.message, "error");
    } finally {
      cs.idle(button);
      bar.hidden = true;
    }
  }

  async function uploadBase(form) {
    try {
      const actor = await cs.api("PUT", "/api/actors/" + actorId + "/base-image", new FormData(form));
      showBase(actor, false);
      form.reset();
      cs.toast("Base image uploaded.", "success");
    } catch (error) {
      cs.toast("Upload failed: " + error.message, "error");
    }
  }

  async function baseFromUrl(form) {
    try {
      const url = String(new FormData(form).get("url"));
      const actor = await cs.api("POST", "/api/actors/" + actorId + "/base-image/from-url", { url: url });
      showBase(actor, false);
      cs.toast("Base image fetched.", "success");
    } catch (error) {
      cs.toast("Could not fetch the image: " + error.message, "error");
    }
  }

  // --- training data ---------------------------------------------------------------
  function trainingItem(item) {
    const rejected = item.status === "rejected";
    return cs.el("div", { class: "item " + item.status, "data-item-id": String(item.id) }, [
      item.url ? cs.thumbLink(item.url, item.thumb_url, "Training image " + item.filename, item.width, item.height) : null,
      cs.el("div", { class: "body" }, [
        cs.el("span", { class: "mono", text: item.filename }),
        cs.el("span", { class: "badge status status-" + item.status, text: item.status }),
        item.provider === "offline" ? cs.placeholderBadge() : null,
        cs.el("span", { class: "prompt", text: item.prompt || "" }),
        cs.el("button", { type: "button", class: rejected ? "btn" : "btn btn-danger", "data-action": rejected ? "restore" : "reject", text: rejected ? "Restore" : "Reject" }),
      ]),
    ]);
  }

  async function reloadTraining() {
    const data = await cs.api("GET", "/api/actors/" + actorId + "/training-data");
    document.getElementById("training-grid").replaceChildren(...data.training_data.map(trainingItem));
    document.getElementById("training-stats").textContent = data.statistics.training_images_count + " image(s)";
  }

  // Running generations (started here or before the page loaded) are followed on one
  // event stream: the parent's progress moves the bar, each finished image joins the grid.
  const roots = new Set();
  let watcher = null;
  let reloadTimer = null;

  function scheduleReload() {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      reloadTraining().catch(() => null);
    }, 250);
  }

  function onTrainingEvent(data, type) {
    if (roots.has(data.job_id)) {
      if (data.progress !== null && data.progress !== undefined) cs.setProgress(document.getElementById("training-progress"), data.progress);
      if (data.message) document.getElementById("training-message").textContent = data.message;
    }
    if (type === "status" && data.status === "completed") scheduleReload();
  }

  function trainingWatcher() {
    if (!watcher) {
      const section = document.getElementById("training");
      watcher = cs.watchJobs({ after: section.dataset.eventsAfter, onEvent: onTrainingEvent, onPoll: reloadTraining });
    }
    return watcher;
  }

  function trainingEnded(job) {
    if (job.status === "completed") cs.toast("Training data ready.", "success");
    else cs.toast("Training data ended " + job.status.replace(/_/g, " ") + (job.error ? ": " + job.error : ""), "error");
  }

  async function trackTraining(jobId) {
    roots.add(Number(jobId));
    const job = await trainingWatcher().add(jobId);
    roots.delete(Number(jobId));
    if (!roots.size) {
      document.getElementById("training-progress").hidden = true;
      document.getElementById("training-message").textContent = "";
    }
    await reloadTraining();
    return job;
  }

  async function runTraining(button, url, body, label) {
    cs.busy(button, "Generating...");
    cs.setProgress(document.getElementById("training-progress"), 0);
    cs.toast(label + "...");
    try {
      // Connect first: the stream then carries every event of the job about to start.
      await trainingWatcher().open();
      const accepted = await cs.api("POST", url, body);
      trainingEnded(await trackTraining(accepted.job_id));
    } catch (error) {
      cs.toast("Training data failed: " + error.message, "error");
    } finally {
      cs.idle(button);
    }
  }

  function followRunningTraining() {
    const section = document.getElementById("training");
    const running = (section.dataset.running || "").split(",").filter(Boolean);
    if (!running.length) return;
    const button = document.getElementById("training-all");
    cs.busy(button, "Generating...");
    Promise.all(running.map((id) => trackTraining(id).then(trainingEnded))).finally(() => cs.idle(button));
  }

  async function setItem(button) {
    const item = button.closest("[data-item-id]");
    const id = item.dataset.itemId;
    const reject = button.dataset.action === "reject";
    try {
      if (reject) await cs.api("DELETE", "/api/actors/" + actorId + "/training-data/" + id);
      else await cs.api("POST", "/api/actors/" + actorId + "/training-data/" + id + "/restore");
      await reloadTraining();
      cs.toast(reject ? "Image rejected." : "Image restored.", "success");
    } catch (error) {
      cs.toast("Could not change the image: " + error.message, "error");
    }
  }

  // --- LoRA ------------------------------------------------------------------------
  async function saveLora(form) {
    const data = new FormData(form);
    const text = (k) => String(data.get(k) || "").trim() || null;
    const lora = {
      model_url: text("model_url"),
      name: text("name"),
      trigger_word: text("trigger_word"),
      strength_model: Number(data.get("strength_model")),
      strength_clip: Number(data.get("strength_clip")),
    };
    const clear = !lora.model_url && !lora.name;
    try {
      await cs.api("PATCH", "/api/actors/" + actorId, { lora: clear ? null : lora });
      cs.toast(clear ? "LoRA cleared." : "LoRA settings saved.", "success");
    } catch (error) {
      cs.toast("Could not save: " + error.message, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const head = document.getElementById("actor");
    actorId = head.dataset.actorId;
    actorName = head.dataset.actorName;
    const on = (id, type, fn) => document.getElementById(id).addEventListener(type, fn);
    on("base-generate", "click", (e) => generateBase(e.currentTarget));
    on("base-upload", "submit", (e) => { e.preventDefault(); uploadBase(e.currentTarget); });
    on("base-url", "submit", (e) => { e.preventDefault(); baseFromUrl(e.currentTarget); });
    on("training-all", "click", (e) =>
      runTraining(e.currentTarget, "/api/actors/" + actorId + "/training-data/generate-all-prompts", { actor_id: actorId, actor_name: actorName }, "Generating training images for " + actorName));
    on("training-one", "submit", (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const prompt = String(new FormData(form).get("prompt") || "").trim();
      runTraining(form.querySelector("button"), "/api/actors/" + actorId + "/training-data/generate-single", { actor_id: actorId, actor_name: actorName, prompt: prompt }, "Generating one training image");
    });
    on("training-grid", "click", (e) => {
      const button = e.target.closest("button[data-action]");
      if (button) setItem(button);
    });
    on("lora-form", "submit", (e) => { e.preventDefault(); saveLora(e.currentTarget); });
    followRunningTraining();
  });
})();
