// Character references: generate 1-4, the gallery, copy a presigned link, attach.
// Serves the references page and the actor page's references section: when the
// gallery names an actor (data-actor-id), references are made for and listed by it.
"use strict";

(function () {
  const cs = window.cs;

  function actorId() {
    const gallery = document.getElementById("reference-gallery");
    return gallery && gallery.dataset.actorId ? Number(gallery.dataset.actorId) : null;
  }

  function tile(ref) {
    const copy = cs.el("button", { type: "button", class: "btn", "data-action": "copy-link", "aria-label": "Copy a link to reference " + ref.id, text: "Copy link" });
    const open = cs.el("a", { class: "btn btn-link", href: "/api/mv/get_character_reference/" + ref.id + "?redirect=true", target: "_blank", rel: "noopener", "aria-label": "Open reference " + ref.id, text: "Open" });
    const box = cs.el("input", { type: "checkbox", class: "select-ref", value: ref.id });
    return cs.el("figure", { class: "item figure reference", "data-ref-id": ref.id }, [
      cs.thumbLink(ref.image_url, ref.thumb_url, "Character reference: " + ref.description),
      cs.el("figcaption", { class: "body" }, [
        cs.el("span", { class: "prompt", text: ref.description }),
        cs.el("span", { class: "muted mono", text: ref.id + " · " + ref.aspect_ratio }),
        cs.el("label", {}, [box, document.createTextNode(" Attach")]),
        cs.el("span", {}, [copy, document.createTextNode(" "), open]),
      ]),
    ]);
  }

  async function refreshGallery() {
    const actor = actorId();
    const list = await cs.api("GET", "/api/character-references?limit=60" + (actor ? "&actor_id=" + actor : ""));
    const gallery = document.getElementById("reference-gallery");
    if (!list.items.length) return;
    gallery.replaceChildren(...list.items.map(tile));
  }

  async function generate(form) {
    const button = document.getElementById("reference-generate");
    const data = new FormData(form);
    const body = {
      character_description: String(data.get("character_description") || "").trim(),
      num_images: Number(data.get("num_images")),
      aspect_ratio: String(data.get("aspect_ratio")),
    };
    if (actorId()) body.actor_id = actorId();
    cs.busy(button, "Generating...");
    cs.toast("Generating " + body.num_images + " reference image(s)...");
    try {
      const answer = await cs.api("POST", "/api/mv/generate_character_reference?wait=60", body);
      if (answer.job_id && !answer.images) {
        const job = await cs.followJob(answer.job_id);
        if (job.status !== "completed") throw new Error(job.error || "the job ended " + job.status);
      }
      await refreshGallery();
      cs.toast("References ready.", "success");
    } catch (error) {
      cs.toast("Could not generate references: " + error.message, "error");
    } finally {
      cs.idle(button);
    }
  }

  async function copyLink(button) {
    const id = button.closest("[data-ref-id]").dataset.refId;
    try {
      const info = await cs.api("GET", "/api/mv/get_character_reference/" + encodeURIComponent(id));
      const url = new URL(info.image_url, window.location.href).href;
      const ok = await cs.copyText(url);
      button.dataset.url = url;
      cs.toast(ok ? "Link copied (valid " + info.expires_in_seconds + " s)." : "Copy this link: " + url, ok ? "success" : "info");
    } catch (error) {
      cs.toast("Could not get a link: " + error.message, "error");
    }
  }

  /** What the video job holds now: its references, as the video pipeline will read them. */
  async function showAttached(jobId) {
    const list = await cs.api("GET", "/api/video-jobs/" + encodeURIComponent(jobId) + "/character-references");
    const box = document.getElementById("attached");
    document.getElementById("attached-title").textContent = "Video job " + jobId + " has " + list.items.length + " reference(s)";
    document.getElementById("attached-list").replaceChildren(
      ...list.items.map((ref) =>
        cs.el("figure", { class: "item figure", "data-attached-id": ref.id }, [
          cs.thumbLink(ref.image_url, ref.thumb_url, "Reference " + ref.id + " of video job " + jobId),
          cs.el("figcaption", { class: "body" }, [
            cs.el("span", { class: "prompt", text: ref.description }),
            cs.el("span", { class: "muted mono", text: ref.cloud_path }),
          ]),
        ])
      )
    );
    box.hidden = false;
  }

  async function attach(form) {
    const jobId = String(new FormData(form).get("job_id") || "").trim();
    const ids = Array.from(document.querySelectorAll(".select-ref:checked")).map((box) => box.value);
    if (!ids.length) {
      cs.toast("Select at least one reference to attach.", "error");
      return;
    }
    try {
      // Create (or open) the video job first: it then belongs to the person attaching.
      await cs.api("POST", "/api/video-jobs", { id: jobId });
      const answer = await cs.api("POST", "/api/video-jobs/" + encodeURIComponent(jobId) + "/character-references", { image_ids: ids });
      cs.toast("Attached " + answer.items.length + " reference(s) to video job " + jobId + ".", "success");
      await showAttached(jobId);
    } catch (error) {
      cs.toast("Could not attach: " + error.message, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("reference-form");
    form.addEventListener("submit", (event) => { event.preventDefault(); generate(form); });
    const attachForm = document.getElementById("attach-form");
    attachForm.addEventListener("submit", (event) => { event.preventDefault(); attach(attachForm); });
    // The browser's own "match the requested format" does not say which format.
    const jobField = document.getElementById("a-job");
    const explain = () => jobField.setCustomValidity(jobField.validity.patternMismatch ? jobField.title + "." : "");
    jobField.addEventListener("input", explain);
    jobField.addEventListener("invalid", explain);
    document.getElementById("reference-gallery").addEventListener("click", (event) => {
      const button = event.target.closest('button[data-action="copy-link"]');
      if (button) copyLink(button);
    });
  });
})();
