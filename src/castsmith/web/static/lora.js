// The "Train LoRA" panel: start a training, follow its progress and the trainer's log
// lines over the job's event stream, cancel it, make a version current, pick a strength.
"use strict";

(function () {
  const cs = window.cs;
  const panel = document.getElementById("train-lora");
  if (!panel || !cs) return;
  const actorId = panel.dataset.actorId;
  const progress = document.getElementById("lora-progress");
  const message = document.getElementById("lora-message");
  const logBox = document.getElementById("lora-log");
  const trainButton = document.getElementById("lora-train-btn");
  const cancelButton = document.getElementById("lora-cancel");
  let current = null; // {trainingId, jobId}

  async function refreshLogs() {
    if (!current) return;
    try {
      const view = await cs.api("GET", "/api/lora-trainings/" + current.trainingId);
      logBox.hidden = false;
      logBox.textContent = (view.logs || []).join("\n");
      logBox.scrollTop = logBox.scrollHeight;
    } catch (e) { /* the next event tries again */ }
  }

  // Once the version is stored its poster and test grid are drawn; show them when done.
  async function waitForGrid(trainingId) {
    for (let i = 0; i < 120; i++) {
      const view = await cs.api("GET", "/api/lora-trainings/" + trainingId);
      if (!view.grid_job_id) break;
      const job = await cs.api("GET", "/api/jobs/" + view.grid_job_id);
      if (cs.TERMINAL.has(job.status)) break;
      message.textContent = "Drawing the test grid… " + (job.progress_message || "");
      await new Promise((r) => setTimeout(r, 1000));
    }
    window.location.reload();
  }

  async function follow(trainingId, jobId) {
    current = { trainingId: Number(trainingId), jobId: Number(jobId) };
    progress.hidden = false;
    cancelButton.hidden = false;
    trainButton.disabled = true;
    let last = 0;
    const job = await cs.followJob(jobId, (update) => {
      if (update.progress !== null && update.progress !== undefined) cs.setProgress(progress, update.progress);
      if (update.message) message.textContent = update.message;
      const now = Date.now();
      if (now - last > 700) { last = now; refreshLogs(); }
    });
    await refreshLogs();
    cancelButton.hidden = true;
    current = null;
    if (job.status === "completed") {
      cs.toast("LoRA trained.", "success");
      await waitForGrid(trainingId);
    } else {
      trainButton.disabled = false;
      cs.toast("The training ended " + job.status + (job.error ? ": " + job.error : ""), "error");
      message.textContent = job.error || job.status;
    }
  }

  document.getElementById("lora-train").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = {};
    for (const [key, value] of form.entries()) {
      if (value === "") continue;
      body[key] = ["steps", "rank", "resolution"].includes(key) ? Number.parseInt(value, 10)
        : key === "learning_rate" ? Number.parseFloat(value)
        : key === "force" ? true : value;
    }
    cs.busy(trainButton, "Starting...");
    try {
      const accepted = await cs.api("POST", "/api/actors/" + actorId + "/lora-trainings", body);
      message.textContent = "Training v" + accepted.training.version + " on " + accepted.training.provider + "…";
      cs.idle(trainButton);
      await follow(accepted.training.id, accepted.job_id);
    } catch (e) {
      cs.idle(trainButton);
      cs.toast(e.message, "error");
      if (e.status === 409 && e.body && e.body.report) showReport(e.body.report);
    }
  });

  // A training refused for the dataset: say why and offer to train anyway.
  function showReport(report) {
    const list = document.getElementById("lora-readiness-reasons");
    list.replaceChildren(...(report.reasons || []).map((reason) => {
      const item = document.createElement("li");
      item.textContent = reason;
      return item;
    }));
    list.hidden = !(report.reasons || []).length;
    message.textContent = "The dataset is not ready for training.";
    document.getElementById("lt-force-field").hidden = false;
  }

  cancelButton.addEventListener("click", async () => {
    if (!current) return;
    const ok = await cs.confirmDialog("Cancel the training?", "The trainer is asked to stop as well.", "Cancel training");
    if (!ok) return;
    try {
      await cs.api("POST", "/api/lora-trainings/" + current.trainingId + "/cancel");
    } catch (e) { cs.toast(e.message, "error"); }
  });

  panel.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    try {
      if (button.dataset.action === "lora-current") {
        await cs.api("POST", "/api/lora-trainings/" + button.dataset.trainingId + "/make-current");
        window.location.reload();
      } else if (button.dataset.action === "lora-strength") {
        const grid = document.getElementById("lora-grid");
        await cs.api("POST", "/api/lora-trainings/" + grid.dataset.trainingId + "/strength",
          { strength: Number.parseFloat(button.dataset.strength) });
        cs.toast("Strength " + button.dataset.strength + " is now the default.", "success");
        window.location.reload();
      }
    } catch (e) { cs.toast(e.message, "error"); }
  });

  if (panel.dataset.running && panel.dataset.runningJob) {
    follow(panel.dataset.running, panel.dataset.runningJob).catch(() => null);
  }
})();
