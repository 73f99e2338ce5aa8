"""A fake RunPod serverless endpoint running worker-comfyui (production URL shape).

Routes under ``/v2/{endpoint_id}``: ``POST /run``, ``POST /runsync``,
``GET /status/{id}``, ``POST /cancel/{id}``, ``GET /health``. Jobs stay IN_QUEUE /
IN_PROGRESS for ``polls_before_done`` status polls, then finish with ``output_shape``:

* ``"v5"``: ``{"images": [{"filename", "type": "base64", "data"}]}``
* ``"v5_s3"``: same with ``type: "s3_url"`` and a URL served by this fake
* ``"legacy_url"`` / ``"legacy_base64"``: ``{"status": "success", "message": ...}``
* ``"legacy_error"``: ``{"status": "error", "message": ...}`` inside COMPLETED

The worker's ComfyUI validates like ComfyUI (``node_classes``, ``models`` (None: any
file), ``missing_models``; see ``comfy_nodes``) and fails as worker-comfyui 5.8 does
(``comfy_down``, ``fail_execution``), with the worker's own error texts.
``finish_next(status=..., error=...)`` scripts how the next job ends (FAILED with a
message, CANCELLED, TIMED_OUT); ``forget(job_id)`` makes ``/status`` answer 404 as
after retention.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.comfy_nodes import CORE_NODES, LOADERS, validate, worker_text
from tests.fakes.server import FakeServer, bearer_ok, png

PNG = png((30, 120, 200))


class FakeRunPod(FakeServer):
    """``FakeRunPod(latency=0.5)``; base for clients: ``f"{fake.url}/v2/{fake.endpoint_id}"``."""

    def __init__(
        self,
        latency: float = 0.0,
        api_key: str = "rp-test-key-123",
        endpoint_id: str = "ep-test",
        polls_before_done: int = 1,
        output_shape: str = "v5",
        images_per_job: int = 1,
    ) -> None:
        super().__init__(latency)
        self.api_key = api_key
        self.endpoint_id = endpoint_id
        self.polls_before_done = polls_before_done
        self.output_shape = output_shape
        self.images_per_job = images_per_job
        self.runsync_finishes = True
        self.jobs: dict[str, dict[str, Any]] = {}
        self._next_end: list[dict[str, Any]] = []
        # The worker's ComfyUI: its node classes and model files (None: any file).
        self.node_classes: set[str] = set(CORE_NODES) | {"TeaCache"}
        self.models: set[str] | None = None
        self.missing_models: set[str] = set()
        self.comfy_down = False
        self.fail_execution = False

    def _worker_end(self, workflow: Any) -> dict[str, Any] | None:
        """How worker-comfyui 5.x ends a job for ``workflow`` on this worker's ComfyUI."""
        if self.comfy_down:
            return {
                "status": "FAILED",
                "error": "ComfyUI server (127.0.0.1:8188) not reachable after multiple retries.",
            }
        named = {
            str((node.get("inputs") or {}).get(key))
            for node in (workflow.values() if isinstance(workflow, dict) else [])
            if isinstance(node, dict)
            for key in LOADERS.get(str(node.get("class_type")), ())
        }
        models = (named if self.models is None else self.models) - self.missing_models
        body = validate(workflow, self.node_classes, models)
        if body is not None:
            return {"status": "FAILED", "error": worker_text(body)}
        if self.fail_execution:
            return {
                "status": "FAILED",
                "error": "Job processing failed",
                "output": {
                    "details": ["Node Type: KSampler, Node ID: 11, Message: CUDA out of memory"]
                },
            }
        return None

    @property
    def base(self) -> str:
        """The endpoint URL a client is configured with."""
        return f"{self.url}/v2/{self.endpoint_id}"

    def finish_next(self, status: str = "FAILED", error: Any = None, **extra: Any) -> None:
        """Make the next submitted job end this way instead of COMPLETED."""
        end: dict[str, Any] = {"status": status, **extra}
        if error is not None:
            end["error"] = error
        self._next_end.append(end)

    def forget(self, job_id: str) -> None:
        """Drop a job as retention does; ``/status`` then answers 404."""
        self.jobs.pop(job_id, None)

    def _output(self) -> Any:
        data = base64.b64encode(PNG).decode()
        if self.output_shape == "v5":
            return {
                "images": [
                    {"filename": f"ComfyUI_{i:05}_.png", "type": "base64", "data": data}
                    for i in range(self.images_per_job)
                ]
            }
        if self.output_shape == "v5_s3":
            return {
                "images": [
                    {
                        "filename": f"ComfyUI_{i:05}_.png",
                        "type": "s3_url",
                        "data": self.add_file(PNG),
                    }
                    for i in range(self.images_per_job)
                ]
            }
        if self.output_shape == "legacy_url":
            return {"status": "success", "message": self.add_file(PNG)}
        if self.output_shape == "legacy_base64":
            return {"status": "success", "message": data}
        if self.output_shape == "legacy_error":
            return {
                "status": "error",
                "message": "the image does not exist in the specified output folder: /out",
            }
        if self.output_shape == "no_images":
            return {"images": [], "status": "success_no_images"}
        return None

    def _finish(self, job: dict[str, Any]) -> None:
        end = job.pop("end", None)
        if end is None:
            job.update(status="COMPLETED", delayTime=120, executionTime=2300, output=self._output())
        else:
            job.update(end)

    def _view(self, job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if k not in {"polls_left", "input", "end"}}

    def _auth(self, request: Request) -> Response | None:
        if request.path_params["endpoint"] != self.endpoint_id:
            return Response("Not Found", status_code=404)
        if not bearer_ok(request, self.api_key):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        return None

    async def _submit(self, request: Request) -> Response:
        if (denied := self._auth(request)) is not None:
            return denied
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            return JSONResponse({"error": "input is required"}, status_code=400)
        sync = request.url.path.endswith("/runsync")
        job_id = self.next_id("sync-" if sync else "") + "-u1"
        job: dict[str, Any] = {"id": job_id, "status": "IN_QUEUE", "input": body["input"]}
        job["polls_left"] = self.polls_before_done
        if self._next_end:
            job["end"] = self._next_end.pop(0)
        elif "workflow" not in body["input"]:
            job["end"] = {"status": "FAILED", "error": "Missing 'workflow' parameter"}
        elif (end := self._worker_end(body["input"]["workflow"])) is not None:
            job["end"] = end
        self.jobs[job_id] = job
        if sync and self.runsync_finishes:
            self._finish(job)
        elif sync:
            job["status"] = "IN_PROGRESS"
        return JSONResponse(self._view(job))

    def _known_job(self, request: Request) -> dict[str, Any] | Response:
        """The job the path names, or the answer RunPod gives without auth or job."""
        if (denied := self._auth(request)) is not None:
            return denied
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "request does not exist"}, status_code=404)
        return job

    async def _status(self, request: Request) -> Response:
        job = self._known_job(request)
        if isinstance(job, Response):
            return job
        if job["status"] in ("IN_QUEUE", "IN_PROGRESS"):
            if job["polls_left"] <= 0:
                self._finish(job)
            else:
                job["polls_left"] -= 1
                job["status"] = "IN_PROGRESS"
        return JSONResponse(self._view(job))

    async def _cancel(self, request: Request) -> Response:
        job = self._known_job(request)
        if isinstance(job, Response):
            return job
        if job["status"] in ("IN_QUEUE", "IN_PROGRESS"):
            job["status"] = "CANCELLED"
        return JSONResponse({"id": job["id"], "status": job["status"]})

    async def _health(self, request: Request) -> Response:
        if (denied := self._auth(request)) is not None:
            return denied
        running = sum(1 for j in self.jobs.values() if j["status"] == "IN_PROGRESS")
        queued = sum(1 for j in self.jobs.values() if j["status"] == "IN_QUEUE")
        return JSONResponse(
            {
                "jobs": {
                    "completed": 0,
                    "failed": 0,
                    "inProgress": running,
                    "inQueue": queued,
                    "retried": 0,
                },
                "workers": {"idle": 1, "running": running},
            }
        )

    def routes(self) -> list[BaseRoute]:
        prefix = "/v2/{endpoint}"
        return [
            Route(f"{prefix}/run", self._submit, methods=["POST"]),
            Route(f"{prefix}/runsync", self._submit, methods=["POST"]),
            Route(f"{prefix}/status/{{job_id}}", self._status, methods=["GET"]),
            Route(f"{prefix}/cancel/{{job_id}}", self._cancel, methods=["POST"]),
            Route(f"{prefix}/health", self._health, methods=["GET"]),
        ]
