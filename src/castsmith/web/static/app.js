// castsmith: shared helpers for every page (toasts, confirmation dialog, JSON API
// calls, following a job's progress). Plain JavaScript, no build step.
"use strict";

(function () {
  const TERMINAL = new Set(["completed", "completed_with_errors", "failed", "cancelled"]);

  /** Show a toast in the aria-live region; kind is "info", "success" or "error". */
  function toast(message, kind) {
    const region = document.getElementById("toasts");
    if (!region) return;
    const item = document.createElement("div");
    item.className = "toast toast-" + (kind || "info");
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    const text = document.createElement("span");
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss notification");
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.append(text, close);
    region.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 12000 : 6000);
  }

  /** Ask for confirmation in the shared <dialog>; resolves true on confirm.
   * Escape or Cancel resolve false; focus returns to the element that opened it. */
  function confirmDialog(title, text, okLabel) {
    const dialog = document.getElementById("confirm-dialog");
    const opener = document.activeElement;
    dialog.querySelector("#confirm-title").textContent = title;
    dialog.querySelector("#confirm-text").textContent = text;
    dialog.querySelector("#confirm-ok").textContent = okLabel || "Confirm";
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener(
        "close",
        () => {
          if (opener && typeof opener.focus === "function") opener.focus();
          resolve(dialog.returnValue === "ok");
        },
        { once: true }
      );
      dialog.showModal();
      dialog.querySelector("#confirm-ok").focus();
    });
  }

  /** The error text of an API answer: {detail, field} or FastAPI's list of errors. */
  function errorText(body, status) {
    if (body && typeof body.detail === "string") return body.detail;
    if (body && Array.isArray(body.detail) && body.detail.length) {
      const first = body.detail[0];
      const where = (first.loc || []).filter((p) => p !== "body").join(".");
      return (where ? where + ": " : "") + (first.msg || "invalid value");
    }
    return "request failed (" + status + ")";
  }

  /** Call the JSON API; throws an Error whose message is the server's reason. */
  async function api(method, url, body) {
    const init = { method: method, headers: { Accept: "application/json" } };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    let data = null;
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) data = await response.json();
    if (!response.ok) {
      const error = new Error(errorText(data, response.status));
      error.status = response.status;
      error.body = data;
      throw error;
    }
    return data;
  }

  /** Follow a job until it ends: onUpdate({status, progress, message}) on every event.
   * Uses the job's event stream; falls back to polling if the stream breaks.
   * Resolves with the finished job (as GET /api/jobs/{id} returns it). */
  function followJob(jobId, onUpdate) {
    return new Promise((resolve) => {
      let done = false;
      let source = null;
      const finish = async () => {
        if (done) return;
        done = true;
        if (source) source.close();
        let job = null;
        for (let i = 0; i < 20 && !job; i++) {
          try {
            job = await api("GET", "/api/jobs/" + jobId);
          } catch (e) {
            await new Promise((r) => setTimeout(r, 250));
          }
        }
        resolve(job || { id: jobId, status: "failed", error: "the job could not be read" });
      };
      const poll = async () => {
        while (!done) {
          try {
            const job = await api("GET", "/api/jobs/" + jobId);
            onUpdate && onUpdate({ status: job.status, progress: job.progress, message: job.progress_message });
            if (TERMINAL.has(job.status)) return finish();
          } catch (e) {
            /* keep trying: the server may be restarting */
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      };
      const handle = (event) => {
        let data = {};
        try { data = JSON.parse(event.data); } catch (e) { return; }
        onUpdate && onUpdate(data);
        if (TERMINAL.has(data.status) && event.type === "status") finish();
      };
      if (!window.EventSource) return poll();
      source = new EventSource("/api/jobs/" + jobId + "/events");
      source.addEventListener("status", handle);
      source.addEventListener("progress", handle);
      source.addEventListener("message", handle);
      source.onerror = () => {
        // The stream closes after the terminal event; either way, ask the job itself.
        if (done) return;
        source.close();
        poll();
      };
    });
  }

  /** Put a button into its busy state (disabled, label) and back. */
  function busy(button, label) {
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = label;
  }
  function idle(button) {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (button.dataset.label) button.textContent = button.dataset.label;
  }

  function setProgress(bar, percent) {
    if (!bar) return;
    bar.hidden = false;
    bar.value = Math.max(0, Math.min(100, Number(percent) || 0));
  }

  /** Copy text to the clipboard, with a fallback for non-secure contexts. */
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (e) { /* fall through */ }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  function setupNav() {
    const toggle = document.querySelector(".nav-toggle");
    const nav = document.getElementById("site-nav");
    if (!toggle || !nav) return;
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      nav.classList.toggle("open", !open);
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && nav.classList.contains("open")) {
        nav.classList.remove("open");
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  /** An <img> over a poster's three WebP sizes (null when there are none). */
  function posterImage(frames, alt, sizes) {
    const s = frames && frames.standard;
    if (!s || !s.webp_md) return null;
    return el("img", {
      class: "poster",
      src: s.webp_md,
      srcset: s.webp_sm + " 256w, " + s.webp_md + " 512w, " + s.webp_lg + " 1024w",
      sizes: sizes || "(max-width: 600px) 45vw, 256px",
      width: "512",
      height: "512",
      loading: "lazy",
      decoding: "async",
      alt: alt,
    });
  }

  /** Swap the poster shown inside ``container`` for ``frames``. */
  function replacePoster(container, frames, alt, sizes) {
    const img = posterImage(frames, alt, sizes);
    const old = container.querySelector(".poster");
    if (!img || !old) return;
    old.replaceWith(img);
  }

  /**
   * A grid image: its small thumbnail (``thumbUrl``; the full image when there is none),
   * loaded lazily, inside a link to the full image. ``width``/``height`` (the full image's)
   * reserve the cell's shape before it loads, so lazy loading sees only the visible ones.
   */
  function thumbLink(fullUrl, thumbUrl, alt, width, height) {
    return el("a", { class: "thumb-link", href: fullUrl, target: "_blank", rel: "noopener" }, [
      el("img", { src: thumbUrl || fullUrl, alt: alt, loading: "lazy", decoding: "async", width: width ? String(width) : null, height: height ? String(height) : null }),
    ]);
  }

  function placeholderBadge() {
    return el("span", { class: "badge badge-placeholder", title: "Drawn by the offline provider", text: "Placeholder art" });
  }

  window.cs = { posterImage, replacePoster, thumbLink, placeholderBadge, toast, confirmDialog, api, followJob, busy, idle, setProgress, copyText, el, TERMINAL };
  document.addEventListener("DOMContentLoaded", setupNav);
})();
