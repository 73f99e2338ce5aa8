// Persona tasks: start a task, live task list, and a task page that follows its
// personas until they are done, with "retry failed".
"use strict";

(function () {
  const cs = window.cs;
  const FINISHED = new Set(["completed", "completed_with_errors", "failed"]);

  function badge(status) {
    return cs.el("span", { class: "badge status status-" + status, text: status.replace(/_/g, " ") });
  }
  function counts(task) {
    const p = task.personas || {};
    return (p.completed || 0) + "/" + task.count + " done" + (p.failed ? ", " + p.failed + " failed" : "");
  }

  // --- the list page ---------------------------------------------------------------
  function taskRow(task) {
    const cell = (label, cls, children) => cs.el("td", { "data-label": label, class: cls }, children);
    return cs.el("tr", { "data-task-id": task.task_id, "data-status": task.status }, [
      cell("Task", null, [cs.el("a", { class: "mono", href: "/personas/" + task.task_id, text: task.task_id.slice(0, 8) })]),
      cell("Status", "task-status", [badge(task.status)]),
      cell("Personas", "task-counts", [document.createTextNode(counts(task))]),
      cell("Locale", null, [document.createTextNode(task.locale)]),
      cell("Created", "muted", [document.createTextNode((task.created_at || "").slice(0, 19).replace("T", " "))]),
    ]);
  }

  async function refreshList() {
    const page = await cs.api("GET", "/api/persona-tasks?limit=50");
    const body = document.querySelector("#tasks-table tbody");
    if (page.items.length) body.replaceChildren(...page.items.map(taskRow));
    return page.items.some((task) => !FINISHED.has(task.status));
  }

  function watchList() {
    let timer = null;
    const tick = async () => {
      timer = null;
      let active = false;
      try { active = await refreshList(); } catch (e) { active = true; }
      if (active) timer = setTimeout(tick, 1000);
    };
    if (window.EventSource) {
      const source = new EventSource("/api/events");
      source.addEventListener("status", (event) => {
        try {
          if (!JSON.parse(event.data).kind.startsWith("persona")) return;
        } catch (e) { return; }
        if (!timer) timer = setTimeout(tick, 200);
      });
    }
    tick();
  }

  async function start(form) {
    const button = document.getElementById("persona-start");
    const data = new FormData(form);
    cs.busy(button, "Starting...");
    try {
      const task = await cs.api("POST", "/api/persona-tasks", {
        count: Number(data.get("count")),
        locale: String(data.get("locale")),
      });
      cs.toast("Task " + task.task_id.slice(0, 8) + " started.", "success");
      const empty = document.querySelector(".no-tasks");
      if (empty) empty.remove();
      document.querySelector("#tasks-table tbody").prepend(taskRow(task));
      watchList();
    } catch (error) {
      cs.toast("Could not start the task: " + error.message, "error");
    } finally {
      cs.idle(button);
    }
  }

  // --- the task page ---------------------------------------------------------------
  function personaCard(p) {
    const name = ((p.firstname || "") + " " + (p.lastname || "")).trim();
    const figures = (p.images || []).map((img) =>
      cs.el("figure", { class: "item figure" }, [
        cs.thumbLink(img.url, img.thumb_url, img.name.replace(/_/g, " ") + " of " + name, img.width, img.height),
        cs.el("figcaption", { class: "body", text: img.name.replace(/_/g, " ") }),
      ])
    );
    const meta = [p.age || "?", p.gender || "", p.occupation || "", p.location || ""].join(" · ");
    return cs.el("article", { class: "panel persona", "data-result-id": String(p.result_id) }, [
      cs.el("h3", {}, [document.createTextNode(name + " "), badge(p.status)]),
      cs.el("p", { class: "muted", text: meta }),
      p.bio ? cs.el("p", { text: p.bio }) : null,
      p.error ? cs.el("p", { class: "status-failed", text: p.error }) : null,
      cs.el("div", { class: "thumbs" }, figures),
    ]);
  }

  function renderTask(task) {
    const head = document.getElementById("task");
    head.dataset.status = task.status;
    document.getElementById("task-status").replaceChildren(badge(task.status));
    document.getElementById("task-counts").textContent = counts(task) + " · " + task.locale;
    document.getElementById("retry-failed").hidden = !((task.personas || {}).failed || task.status === "failed");
    const log = document.getElementById("error-log");
    const entries = task.error_log || [];
    log.replaceChildren(
      ...(entries.length
        ? entries.map((e) => cs.el("li", { text: ((e.at || "") + " " + (e.message || e.error || JSON.stringify(e))).trim() }))
        : [cs.el("li", { class: "muted", text: "No errors." })])
    );
    if (task.results && task.results.length) {
      document.getElementById("personas").replaceChildren(...task.results.map(personaCard));
    }
  }

  // The task page follows the task's job and every job it spawned on one event stream
  // (polling if the stream is unavailable); each finished job re-renders the task.
  let watcher = null;
  let refreshTimer = null;

  async function refreshTask(taskId) {
    const task = await cs.api("GET", "/api/persona-tasks/" + taskId);
    renderTask(task);
    return task;
  }

  function taskWatcher(taskId) {
    if (!watcher) {
      const head = document.getElementById("task");
      const schedule = () => {
        if (refreshTimer) return;
        refreshTimer = setTimeout(() => {
          refreshTimer = null;
          refreshTask(taskId).catch(() => null);
        }, 250);
      };
      watcher = cs.watchJobs({
        after: head.dataset.eventsAfter,
        known: (head.dataset.jobs || "").split(",").filter(Boolean).map(Number),
        onEvent: (data, type) => { if (type === "status") schedule(); },
        onPoll: () => refreshTask(taskId),
      });
    }
    return watcher;
  }

  async function followTask(taskId, jobId) {
    if (!jobId) return;
    await taskWatcher(taskId).add(jobId);
    // The job has ended; the task settles in the same transaction, but ask until it has.
    for (let i = 0; i < 20; i++) {
      try {
        if (FINISHED.has((await refreshTask(taskId)).status)) return;
      } catch (e) { /* try again */ }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async function retryFailed(taskId, button) {
    cs.busy(button, "Retrying...");
    try {
      await taskWatcher(taskId).open();
      const task = await cs.api("POST", "/api/persona-tasks/" + taskId + "/retry-failed");
      cs.toast("Retrying the failed personas.", "success");
      renderTask(task);
      followTask(taskId, task.job_id);
    } catch (error) {
      cs.toast("Could not retry: " + error.message, "error");
    } finally {
      cs.idle(button);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("persona-form");
    if (form) {
      form.addEventListener("submit", (event) => { event.preventDefault(); start(form); });
      if (document.querySelector('#tasks-table tr[data-status]:not([data-status="completed"]):not([data-status="failed"]):not([data-status="completed_with_errors"])')) watchList();
    }
    const head = document.getElementById("task");
    if (head) {
      const taskId = head.dataset.taskId;
      document.getElementById("retry-failed").addEventListener("click", (e) => retryFailed(taskId, e.currentTarget));
      if (!FINISHED.has(head.dataset.status)) followTask(taskId, head.dataset.jobId);
    }
  });
})();
