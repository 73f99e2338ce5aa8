// The Actor Library: regenerate one poster (confirm, live progress, swap the image),
// batch regeneration of the selected actors, creating actors and the demo cast.
"use strict";

(function () {
  const cs = window.cs;

  async function regenerate(card, button) {
    const id = card.dataset.actorId;
    const name = card.dataset.actorName;
    const ok = await cs.confirmDialog(
      "Regenerate poster",
      "Regenerate the poster frame for " + name + "? The current poster stays in its history.",
      "Regenerate"
    );
    if (!ok) return;
    cs.toast("Regenerating poster frame for " + name + "...");
    cs.busy(button, "Generating...");
    const bar = card.querySelector(".job-progress");
    cs.setProgress(bar, 0);
    try {
      const accepted = await cs.api("POST", "/api/actors/" + id + "/regenerate-poster-frame", {
        actor_name: name,
      });
      const job = await cs.followJob(accepted.job_id, (update) => {
        const percent = Math.round(Number(update.progress) || 0);
        cs.setProgress(bar, percent);
        button.textContent = "Generating... " + percent + "%";
      });
      if (job.status !== "completed" && job.status !== "completed_with_errors") {
        throw new Error(job.error || "the poster job ended " + job.status);
      }
      const actor = await cs.api("GET", "/api/actors/" + id);
      cs.replacePoster(card, actor.poster_frames, "Poster of " + name);
      const badges = card.querySelector("[data-role=poster-badge]");
      if (badges) {
        badges.replaceChildren();
        const info = (job.result && job.result.poster) || {};
        if (info.placeholder) badges.append(cs.placeholderBadge());
      }
      cs.toast("New poster frame for " + name + " is ready.", "success");
    } catch (error) {
      cs.toast("Poster regeneration failed for " + name + ": " + error.message, "error");
    } finally {
      cs.idle(button);
      if (bar) bar.hidden = true;
    }
  }

  function selected() {
    return Array.from(document.querySelectorAll(".select-actor:checked")).map((box) => Number(box.value));
  }

  function updateSelection() {
    const count = selected().length;
    const label = document.getElementById("selected-count");
    const button = document.getElementById("batch-regenerate");
    if (label) label.textContent = count + " selected";
    if (button && !button.getAttribute("aria-busy")) button.disabled = count === 0;
    document.querySelectorAll(".actor-card").forEach((card) => {
      const box = card.querySelector(".select-actor");
      card.classList.toggle("selected", Boolean(box && box.checked));
    });
  }

  async function refreshCard(id) {
    const card = document.querySelector('.actor-card[data-actor-id="' + id + '"]');
    if (!card) return;
    const actor = await cs.api("GET", "/api/actors/" + id);
    cs.replacePoster(card, actor.poster_frames, "Poster of " + actor.name);
  }

  async function batchRegenerate(button) {
    const ids = selected();
    if (!ids.length) return;
    const ok = await cs.confirmDialog(
      "Regenerate posters",
      "Regenerate the poster frames of " + ids.length + " selected actor(s)?",
      "Regenerate all"
    );
    if (!ok) return;
    const bar = document.getElementById("batch-progress");
    cs.toast("Regenerating " + ids.length + " poster frame(s)...");
    cs.busy(button, "Generating...");
    cs.setProgress(bar, 0);
    try {
      const accepted = await cs.api("POST", "/api/poster-frames/regenerate", { actor_ids: ids });
      const job = await cs.followJob(accepted.job_id, (u) => cs.setProgress(bar, u.progress));
      await Promise.all(ids.map((id) => refreshCard(id).catch(() => null)));
      if (job.status === "completed") cs.toast("All " + ids.length + " posters are ready.", "success");
      else cs.toast("Batch ended " + job.status.replace(/_/g, " ") + (job.error ? ": " + job.error : ""), "error");
    } catch (error) {
      cs.toast("Batch regeneration failed: " + error.message, "error");
    } finally {
      cs.idle(button);
      if (bar) bar.hidden = true;
      updateSelection();
    }
  }

  async function demoCast(button) {
    const bar = document.getElementById("demo-progress");
    cs.busy(button, "Creating...");
    cs.setProgress(bar, 0);
    try {
      const made = await cs.api("POST", "/api/demo-cast");
      cs.toast("Created " + made.created.length + " actors; generating their images...");
      let finished = 0;
      await Promise.all(
        made.job_ids.map((jobId) =>
          cs.followJob(jobId).then(() => {
            finished += 1;
            cs.setProgress(bar, (100 * finished) / made.job_ids.length);
          })
        )
      );
      cs.toast("The demo cast is ready.", "success");
      window.location.reload();
    } catch (error) {
      cs.toast("Could not create the demo cast: " + error.message, "error");
      cs.idle(button);
    }
  }

  async function createActor(form) {
    const data = Object.fromEntries(new FormData(form).entries());
    for (const key of Object.keys(data)) if (data[key] === "") delete data[key];
    try {
      const actor = await cs.api("POST", "/api/actors", data);
      cs.toast("Created " + actor.name + ".", "success");
      window.location.href = "/actors/" + actor.id;
    } catch (error) {
      cs.toast("Could not create the actor: " + error.message, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.dataset.action === "regenerate-poster") {
        regenerate(button.closest(".actor-card"), button);
      } else if (button.id === "batch-regenerate") {
        batchRegenerate(button);
      } else if (button.id === "select-page") {
        const boxes = document.querySelectorAll(".select-actor");
        const all = Array.from(boxes).every((box) => box.checked);
        boxes.forEach((box) => { box.checked = !all; });
        button.textContent = all ? "Select page" : "Clear selection";
        updateSelection();
      } else if (button.id === "demo-cast") {
        demoCast(button);
      }
    });
    document.addEventListener("change", (event) => {
      if (event.target.classList.contains("select-actor")) updateSelection();
    });
    const create = document.getElementById("create-actor");
    if (create) {
      create.addEventListener("submit", (event) => {
        event.preventDefault();
        createActor(create);
      });
    }
  });
})();
