// Flagged personas on a task page: "Regenerate this persona" makes its images again.
(function () {
  "use strict";
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-regenerate-persona]");
    if (!button || !window.cs) return;
    const box = button.closest(".persona-checks");
    const url = "/api/persona-tasks/" + encodeURIComponent(box.dataset.taskId) + "/personas/" + box.dataset.resultId + "/regenerate";
    button.disabled = true;
    try {
      await window.cs.api("POST", url);
      window.cs.toast("Regenerating this persona's images", "info");
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      window.cs.toast("Could not regenerate: " + error.message, "error");
    }
  });
})();
