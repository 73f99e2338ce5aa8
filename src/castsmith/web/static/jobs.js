// The jobs page: live status and progress from the event stream, cancel and retry.
"use strict";

(function () {
  const cs = window.cs;
  const ACTIVE = new Set(["queued", "running", "waiting"]);
  // Jobs already doing work: cancelling one asks first.
  const STARTED = new Set(["running", "waiting"]);

  function badge(status) {
    return cs.el("span", { class: "badge status status-" + status, text: status.replace(/_/g, " ") });
  }

  function buildRow(job) {
    const id = job.id;
    const cancel = cs.el("button", { type: "button", class: "btn btn-danger", "data-action": "cancel", "aria-label": "Cancel job " + id, text: "Cancel" });
    const retry = cs.el("button", { type: "button", class: "btn", "data-action": "retry", "aria-label": "Retry job " + id, text: "Retry" });
    const cell = (label, cls, children) => cs.el("td", { "data-label": label, class: cls }, children);
    const row = cs.el("tr", { "data-job-id": String(id) }, [
      cell("Job", null, [document.createTextNode("#" + id)]),
      cell("Kind", "mono", [document.createTextNode(job.kind)]),
      cell("Status", "job-status", []),
      cell("Progress", null, [cs.el("progress", { max: "100", value: "0", "aria-label": "Progress of job " + id })]),
      cell("Message", "job-message", []),
      cell("Cost", "job-cost", []),
      cell("Actions", "job-actions", [cancel, document.createTextNode(" "), retry]),
    ]);
    return row;
  }

  function render(row, job) {
    row.dataset.status = job.status;
    row.querySelector(".job-status").replaceChildren(badge(job.status));
    const bar = row.querySelector("progress");
    if (bar && job.progress !== undefined && job.progress !== null) bar.value = Number(job.progress) || 0;
    const message = job.error || job.progress_message || job.message;
    if (message !== undefined && message !== null) row.querySelector(".job-message").textContent = message;
    row.querySelector('[data-action="cancel"]').hidden = !ACTIVE.has(job.status);
    row.querySelector('[data-action="retry"]').hidden = !(job.status === "failed" || job.status === "cancelled");
    if (!ACTIVE.has(job.status)) showCost(row);
  }

  // An ended job's provider calls are in the cost ledger: show what they cost.
  async function showCost(row) {
    const cell = row.querySelector(".job-cost");
    if (!cell || cell.textContent) return;
    try {
      const report = await cs.api("GET", "/api/costs?by=job&job_id=" + encodeURIComponent(row.dataset.jobId));
      const line = report.rows[0];
      if (!line) return;
      cell.textContent = line.cost.toFixed(4) + (line.cancelled ? " (cancelled)" : "");
      cell.title = line.calls + " provider call(s): " + line.succeeded + " succeeded, " + line.failed + " failed, " + line.cancelled + " cancelled";
    } catch (e) { /* the cost is a nicety: the row works without it */ }
  }

  function countRows() {
    const rows = document.querySelectorAll("#jobs-table tbody tr[data-job-id]").length;
    document.getElementById("jobs-count").textContent = rows + " job(s)";
  }

  // One row per job, however many of its events arrive before the row exists: the first
  // event starts reading the job, the others wait for that same read.
  const pendingRows = new Map();

  function ensureRow(jobId) {
    const row = document.querySelector('tr[data-job-id="' + jobId + '"]');
    if (row) return Promise.resolve({ row: row, fresh: false });
    if (!pendingRows.has(jobId)) {
      const made = (async () => {
        const view = document.getElementById("jobs-table").dataset.view;
        const job = await cs.api("GET", "/api/jobs/" + jobId);
        if (view === "failed" && job.status !== "failed") return { row: null, fresh: false };
        const empty = document.querySelector(".no-jobs");
        if (empty) empty.remove();
        const created = buildRow(job);
        render(created, job);
        document.querySelector("#jobs-table tbody").prepend(created);
        countRows();
        return { row: created, fresh: true };
      })();
      pendingRows.set(jobId, made);
      const forget = () => pendingRows.delete(jobId);
      made.then(forget, forget);
      return made;
    }
    return pendingRows.get(jobId).then((found) => ({ row: found.row, fresh: false }));
  }

  async function act(button) {
    const row = button.closest("tr");
    const id = row.dataset.jobId;
    const action = button.dataset.action;
    if (action === "cancel" && STARTED.has(row.dataset.status)) {
      const ok = await cs.confirmDialog("Cancel job", "Job #" + id + " is " + row.dataset.status + ". Cancel it? A remote generation it started is cancelled too, and unfinished work is lost.", "Cancel job");
      if (!ok) return;
    }
    button.disabled = true;
    try {
      const job = await cs.api("POST", "/api/jobs/" + id + "/" + action);
      // A cancel takes effect at once, so the stream may already have shown the job
      // ended; the answer, written a moment earlier, must not bring it back to life.
      const overtaken = action === "cancel" && !ACTIVE.has(row.dataset.status) && ACTIVE.has(job.status);
      if (!overtaken) render(row, job);
      cs.toast(action === "cancel" ? "Job #" + id + " cancelled." : "Job #" + id + " queued again.", "success");
    } catch (error) {
      cs.toast("Could not " + action + " job #" + id + ": " + error.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  function listen() {
    if (!window.EventSource) return;
    // Replay from the page's render so events of jobs started meanwhile are not missed.
    const after = document.getElementById("jobs-table").dataset.eventsAfter;
    const source = new EventSource("/api/events" + (after ? "?after=" + encodeURIComponent(after) : ""));
    const handle = async (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      try {
        const found = await ensureRow(data.job_id);
        // A row just read from the API is newer than the event that asked for it.
        if (found.row && !found.fresh) render(found.row, { status: data.status, progress: data.progress, message: data.error || data.message });
      } catch (e) { /* the job may be gone */ }
    };
    source.addEventListener("status", handle);
    source.addEventListener("progress", handle);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("jobs-table").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (button) act(button);
    });
    listen();
  });
})();
