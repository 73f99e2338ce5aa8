// Following running jobs and their children live over one event stream
// (/api/events?after=...), with polling when the stream is unavailable or breaks.
"use strict";

(function () {
  const cs = window.cs;
  const KINDS = ["status", "progress", "message"];
  const BUFFER = 300;
  const POLL_MS = 1500;
  const OPEN_WAIT_MS = 4000;

  /** Watch jobs ("roots") and every job spawned under them.
   *
   * options: after (event id to replay from), known (job ids already in the tree),
   * onEvent(data, type) for each event of a watched job, onPoll() on each polling round.
   * Returns {add(jobId) -> Promise<finished job>, open() -> Promise, polling()}.
   * One connection serves every root; it closes when no root is left running. */
  function watchJobs(options) {
    const opts = options || {};
    const known = new Set(opts.known || []);
    const pending = new Map(); // root id -> [resolve]
    const buffer = [];
    let lastId = opts.after === undefined || opts.after === null ? null : Number(opts.after);
    let source = null;
    let opening = null;
    let pollTimer = null;

    function relevant(data) {
      return known.has(data.job_id) || (data.parent_id !== null && data.parent_id !== undefined && known.has(data.parent_id));
    }

    async function settle(id) {
      const waiters = pending.get(id);
      if (!waiters) return;
      pending.delete(id);
      let job = null;
      try { job = await cs.api("GET", "/api/jobs/" + id); } catch (e) { job = { id: id, status: "failed", error: e.message }; }
      if (!pending.size) stop();
      waiters.forEach((resolve) => resolve(job));
    }

    function deliver(data, type) {
      if (!relevant(data)) return false;
      known.add(data.job_id);
      if (opts.onEvent) opts.onEvent(data, type);
      if (type === "status" && cs.TERMINAL.has(data.status) && pending.has(data.job_id)) settle(data.job_id);
      return true;
    }

    function receive(event) {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (event.lastEventId) lastId = Number(event.lastEventId);
      const entry = { data: data, type: event.type, used: false };
      buffer.push(entry);
      if (buffer.length > BUFFER) buffer.shift();
      entry.used = deliver(data, event.type);
    }

    function stop() {
      if (source) source.close();
      source = null;
      opening = null;
      if (pollTimer) clearTimeout(pollTimer);
      pollTimer = null;
    }

    async function pollRound() {
      pollTimer = null;
      if (opts.onPoll) {
        try { await opts.onPoll(); } catch (e) { /* the server may be restarting */ }
      }
      for (const id of Array.from(pending.keys())) {
        try {
          const job = await cs.api("GET", "/api/jobs/" + id);
          if (opts.onEvent) opts.onEvent({ job_id: id, parent_id: job.parent_id, kind: job.kind, status: job.status, progress: job.progress, message: job.progress_message }, "status");
          if (cs.TERMINAL.has(job.status)) settle(id);
        } catch (e) { /* try again next round */ }
      }
      if (pending.size) pollTimer = setTimeout(pollRound, POLL_MS);
    }

    function fallBack() {
      if (source) source.close();
      source = null;
      if (!pollTimer && pending.size) pollTimer = setTimeout(pollRound, POLL_MS);
    }

    /** Connect (once); resolves when the stream is open, or when polling took over. */
    function open() {
      if (opening) return opening;
      opening = new Promise((resolve) => {
        if (!window.EventSource) { fallBack(); resolve(); return; }
        const url = "/api/events" + (lastId === null ? "" : "?after=" + lastId);
        source = new EventSource(url);
        const timer = setTimeout(() => { fallBack(); resolve(); }, OPEN_WAIT_MS);
        source.addEventListener("open", () => { clearTimeout(timer); resolve(); });
        KINDS.forEach((kind) => source.addEventListener(kind, receive));
        source.onerror = () => {
          // The stream broke (or never opened): follow the jobs by asking for them.
          clearTimeout(timer);
          fallBack();
          resolve();
        };
      });
      return opening;
    }

    /** Follow ``jobId`` (and its children) until it ends; resolves with the job. */
    function add(jobId) {
      const id = Number(jobId);
      known.add(id);
      const done = new Promise((resolve) => {
        if (!pending.has(id)) pending.set(id, []);
        pending.get(id).push(resolve);
      });
      // Events that came before the page knew the id (the worker can be that fast).
      buffer.forEach((entry) => { if (!entry.used) entry.used = deliver(entry.data, entry.type); });
      if (!source && !pollTimer) {
        opening = null;
        open();
      }
      return done;
    }

    return { add, open, polling: () => pollTimer !== null };
  }

  cs.watchJobs = watchJobs;
})();
