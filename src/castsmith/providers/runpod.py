"""RunPod serverless endpoints running worker-comfyui.

Submits with ``/run`` and polls ``/status/{id}`` with backoff, or ``/runsync`` falling
back to polling when the wait runs out. Reads both output shapes: 5.x
(``output.images[]`` with ``type`` base64 or s3_url) and the older
(``output.message`` holding one URL or base64, where ``status: "error"`` can hide inside
a COMPLETED job).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from castsmith.domain.errors import (
    InvalidRequest,
    OutputExpired,
    ProviderError,
    ProviderUnavailable,
)
from castsmith.imaging.sniff import sniff_content_type
from castsmith.net.guard import GuardPolicy
from castsmith.providers import usage
from castsmith.providers._comfy import (
    WorkflowBuilder,
    WorkflowImageProvider,
    graph_seed,
    workflow_capabilities,
)
from castsmith.providers._comfy_errors import describe_worker_error
from castsmith.providers._comfy_preflight import bypass
from castsmith.providers._http import Boundary, secret_value
from castsmith.providers._support import Poller, Stopwatch, finish_then_cancel
from castsmith.providers.base import (
    GeneratedImage,
    ImageResult,
    ProgressCallback,
    Provenance,
    RemoteCall,
    RunWorkflow,
    report,
)

log = logging.getLogger("castsmith.providers.runpod")

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
#: RunPod's request size limits; worker-comfyui takes no input URLs, so a larger
#: request is refused here, before anything is sent (or paid for).
PAYLOAD_LIMITS = {"run": 10_000_000, "runsync": 20_000_000}
_PERMANENT_WORDS = (
    "validation failed",
    "missing 'workflow'",
    "must be a list",
    "does not exist",
    "invalid",
    "must be",
)


def endpoint_base(endpoint_id: str = "", endpoint_url: str = "") -> str:
    """The endpoint's base URL from a full URL or an endpoint id."""
    if endpoint_url:
        return endpoint_url.rstrip("/")
    if endpoint_id:
        return f"https://api.runpod.ai/v2/{endpoint_id}"
    raise InvalidRequest("runpod needs an endpoint id or endpoint URL", "runpod")


class RunPodProvider(WorkflowImageProvider):
    """ComfyUI workflows on a RunPod serverless endpoint (worker-comfyui 3.x to 5.x)."""

    name = "runpod"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: SecretStr | str,
        endpoint_id: str = "",
        endpoint_url: str = "",
        mode: Literal["run", "runsync"] = "run",
        timeout: float = 60.0,
        poll_interval: float = 1.0,
        poll_max_interval: float = 8.0,
        max_wait: float = 1800.0,
        runsync_wait_ms: int = 60_000,
        workflow_builder: WorkflowBuilder | None = None,
        download_guard: GuardPolicy | None = None,
        payload_limits: dict[str, int] | None = None,
    ) -> None:
        self.base = endpoint_base(endpoint_id, endpoint_url)
        self.payload_limits = {**PAYLOAD_LIMITS, **(payload_limits or {})}
        self.mode = mode
        self.poll_interval = poll_interval
        self.poll_max_interval = poll_max_interval
        self.max_wait = max_wait
        self.runsync_wait_ms = max(1000, min(300_000, runsync_wait_ms))
        self.workflow_builder = workflow_builder
        key = secret_value(api_key)
        self._headers = {"Authorization": f"Bearer {key}"}
        self._http = Boundary(self.name, http, timeout, secrets=[key], guard=download_guard)
        self.capabilities = workflow_capabilities(workflow_builder)
        self._absent_nodes: set[str] = set()

    async def run_workflow(
        self,
        request: RunWorkflow,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Submit the workflow (or resume ``remote.resume_id``), wait, fetch its images."""
        watch = Stopwatch()
        call = remote or RemoteCall()
        notes: tuple[str, ...] = ()
        if call.resume_id:
            # Already paid for: follow that job, never submit it again.
            job: dict[str, Any] = {"id": call.resume_id, "status": "IN_QUEUE"}
            await report(progress, 0.05, f"runpod job {call.resume_id} resumed")
            job = await self._wait(job, progress)
        else:
            workflow, notes = self._without_absent(request)
            job = await self._run_once(request, workflow, call, progress)
            lacking = self._lacking_optional(job, request)
            if lacking:
                # The worker refused at validation (nothing ran): remember the node is
                # absent there and send the workflow once more without it.
                self._absent_nodes.add(lacking)
                workflow, notes = self._without_absent(request)
                job = await self._run_once(request, workflow, call, progress)
        job = self._raise_for_terminal(job)
        job_id = str(job.get("id", ""))
        watch.lap("generate")
        images = await self._images(job)
        usage.note(images=len(images))
        watch.lap("download")
        return ImageResult(
            images=tuple(images),
            provenance=Provenance(
                provider=self.name,
                model=self.model,
                seed=graph_seed(request.workflow),
                provider_job_id=job_id,
                timings={
                    **watch.total(),
                    "queue": float(job.get("delayTime") or 0) / 1000,
                    "execution": float(job.get("executionTime") or 0) / 1000,
                },
                notes=notes,
            ),
        )

    def _without_absent(self, request: RunWorkflow) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The workflow less the optional nodes this endpoint is known to lack."""
        workflow = dict(request.workflow)
        drop = self._absent_nodes & request.optional_nodes
        ids = [
            k for k, n in workflow.items() if isinstance(n, dict) and n.get("class_type") in drop
        ]
        if not ids:
            return workflow, ()
        note = f"{', '.join(sorted(drop))} is not installed on the worker; drawn without it"
        return bypass(workflow, ids), (note,)

    def _lacking_optional(self, job: dict[str, Any], request: RunWorkflow) -> str | None:
        if job.get("status") != "FAILED":
            return None
        missing = describe_worker_error(str(job.get("error") or "")).missing_node
        known = missing in request.optional_nodes and missing not in self._absent_nodes
        return missing if known else None

    async def _run_once(
        self,
        request: RunWorkflow,
        workflow: dict[str, Any],
        call: RemoteCall,
        progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        # A cancel arriving mid-submission waits for the id to be recorded, so the
        # job's cancel hook can cancel the RunPod job instead of leaving it running.
        job = await finish_then_cancel(self._submit_and_report(request, workflow, call))
        await report(progress, 0.05, f"runpod job {job.get('id', '')} submitted")
        return await self._wait(job, progress)

    async def _submit_and_report(
        self, request: RunWorkflow, workflow: dict[str, Any], call: RemoteCall
    ) -> dict[str, Any]:
        """Submit the job and report its id to ``call``."""
        job = await self._submit(request, workflow)
        await call.submitted(str(job.get("id", "")))
        return job

    async def _submit(self, request: RunWorkflow, workflow: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {"workflow": workflow}
        if request.images:
            payload["images"] = [
                {"name": img.name, "image": base64.b64encode(img.data).decode()}
                for img in request.images
            ]
        if self.mode == "runsync":
            url = f"{self.base}/runsync?wait={self.runsync_wait_ms}"
            # The HTTP wait must outlast the server-side wait or the job id is lost.
            timeout = self._http.timeout + self.runsync_wait_ms / 1000
        else:
            url, timeout = f"{self.base}/run", self._http.timeout
        body = json.dumps({"input": payload}, separators=(",", ":")).encode()
        self._check_size(len(body))
        response = await self._http.request(
            "POST",
            url,
            content=body,
            headers={**self._headers, "Content-Type": "application/json"},
            timeout=timeout,
            not_found=lambda r: self._http.invalid(
                f"runpod endpoint not found at {self.base} (check the endpoint id)"
            ),
        )
        return self._job(response)

    def _check_size(self, size: int) -> None:
        limit = self.payload_limits[self.mode]
        if size > limit:
            raise InvalidRequest(
                f"the runpod request would be {size / 1e6:.1f} MB, above the {limit / 1e6:g} MB "
                f"RunPod accepts on /{self.mode} (worker-comfyui takes input images inline "
                "only): send smaller or fewer input images"
                + (", or use runsync mode (20 MB)" if self.mode == "run" else ""),
                self.name,
            )

    def _job(self, response: httpx.Response) -> dict[str, Any]:
        body = self._http.json(response)
        if not isinstance(body, dict) or "status" not in body:
            raise self._http.malformed("a job object with a status was expected")
        # What RunPod bills by (ms): kept for the cost ledger, also for failed jobs.
        usage.note(executionTime=body.get("executionTime"), delayTime=body.get("delayTime"))
        return body

    async def _wait(self, job: dict[str, Any], progress: ProgressCallback | None) -> dict[str, Any]:
        job_id = str(job.get("id", ""))
        poller = Poller(self.poll_interval, self.poll_max_interval, self.max_wait)
        while job.get("status") not in TERMINAL:
            if not job_id:
                raise self._http.malformed("the job has no id")
            if poller.expired:
                raise self._http.unavailable(
                    f"runpod job {job_id} did not finish within {self.max_wait:g} s "
                    f"(last status {job.get('status')})"
                )
            status = job.get("status")
            fraction = 0.1 if status == "IN_QUEUE" else 0.5
            label = "waiting for a worker" if status == "IN_QUEUE" else "running"
            await report(progress, fraction, f"runpod job {job_id}: {label}")
            await poller.wait()
            response = await self._http.request(
                "GET",
                f"{self.base}/status/{job_id}",
                headers=self._headers,
                not_found=lambda r: OutputExpired(
                    f"runpod job {job_id} is no longer known to the endpoint "
                    "(results are kept 30 minutes after /run, 1 minute after /runsync)",
                    self.name,
                ),
            )
            job = self._job(response)
        return job

    def _raise_for_terminal(self, job: dict[str, Any]) -> dict[str, Any]:
        status = job.get("status")
        job_id = job.get("id", "")
        if status == "COMPLETED":
            return job
        # The remote job ended without a result: a retry must submit anew, not follow it.
        usage.note(remote_failed=status)
        if status == "TIMED_OUT":
            raise self._http.unavailable(
                f"runpod job {job_id} timed out before a worker finished it"
            )
        if status == "CANCELLED":
            raise ProviderError(f"runpod job {job_id} was cancelled", self.name)
        raise self._failure(str(job_id), job.get("error"), job.get("output"))

    def _failure(self, job_id: str, error: Any, output: Any = None) -> ProviderError:
        text = str(error or "the job failed without a message")
        # Uncaught handler exceptions arrive as a JSON-encoded string.
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict) and "error_message" in decoded:
            kind = decoded.get("error_type") or "error"
            text = f"{decoded['error_message']} ({kind})"
        details = output.get("details") if isinstance(output, dict) else None
        described = describe_worker_error(text, details)
        # The whole message: a list of missing model files must never be cut short.
        message = f"runpod job {job_id} failed: {described.message}"
        if described.permanent or any(word in text.lower() for word in _PERMANENT_WORDS):
            return self._http.invalid(message)
        return self._http.unavailable(message)

    async def _images(self, job: dict[str, Any]) -> list[GeneratedImage]:
        output = job.get("output")
        job_id = job.get("id", "")
        if isinstance(output, dict) and isinstance(output.get("images"), list):
            for warning in output.get("errors") or []:
                log.warning("runpod job %s warning: %s", job_id, self._http.redact(str(warning)))
            images = [await self._decode_entry(entry) for entry in output["images"]]
            if not images:
                raise self._http.invalid(
                    f"runpod job {job_id} finished without images "
                    "(does the workflow end in a SaveImage node?)"
                )
            return images
        if isinstance(output, dict) and "message" in output:
            if output.get("status") == "error":
                raise self._http.unavailable(
                    f"runpod job {job_id} failed inside the worker: {output.get('message')}"
                )
            return [await self._decode_value(str(output["message"]))]
        if isinstance(output, str):
            return [await self._decode_value(output)]
        raise self._http.unavailable(
            f"runpod job {job_id} completed without output (results above about 20 MB are "
            "dropped; configure S3 output on the endpoint)"
        )

    async def _decode_entry(self, entry: Any) -> GeneratedImage:
        if not isinstance(entry, dict) or "data" not in entry:
            raise self._http.malformed("an image entry has no data")
        if entry.get("type") == "s3_url":
            data, content_type = await self._http.download(str(entry["data"]))
            return GeneratedImage(data, content_type)
        return self._b64(str(entry["data"]))

    async def _decode_value(self, value: str) -> GeneratedImage:
        if value.startswith(("http://", "https://")):
            data, content_type = await self._http.download(value)
            return GeneratedImage(data, content_type)
        return self._b64(value)

    def _b64(self, value: str) -> GeneratedImage:
        _, _, payload = value.rpartition(",")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise self._http.malformed("an image is not valid base64") from None
        return GeneratedImage(data, sniff_content_type(data, "image/png"))

    async def cancel(self, provider_job_id: str) -> None:
        """Cancel a queued or running job."""
        await self._http.request(
            "POST",
            f"{self.base}/cancel/{provider_job_id}",
            headers=self._headers,
            not_found=lambda r: OutputExpired(
                f"runpod job {provider_job_id} is not known to the endpoint", self.name
            ),
        )

    async def check(self) -> str:
        """Ask the endpoint's ``/health`` for worker counts (proves the key works)."""
        response = await self._http.request(
            "GET",
            f"{self.base}/health",
            headers=self._headers,
            not_found=lambda r: self._http.invalid(f"no runpod endpoint at {self.base}"),
        )
        body = self._http.json(response)
        workers = body.get("workers", {}) if isinstance(body, dict) else {}
        jobs = body.get("jobs", {}) if isinstance(body, dict) else {}
        if not isinstance(workers, dict) or not isinstance(jobs, dict):
            raise ProviderUnavailable("malformed response from runpod /health", self.name)
        return (
            f"endpoint reachable: {workers.get('idle', 0)} idle and "
            f"{workers.get('running', 0)} running workers, {jobs.get('inQueue', 0)} jobs queued"
        )
