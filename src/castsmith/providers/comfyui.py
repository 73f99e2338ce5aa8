"""A ComfyUI server driven directly over HTTP and its websocket.

The socket is opened before ``POST /prompt`` (cached prompts can finish in
milliseconds); progress events go to the callback; the prompt is done on ``executing``
with ``node: null`` or ``execution_success``. If the socket cannot be opened or drops,
``/history/{id}`` is polled instead. Outputs are fetched from ``/view``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from castsmith.domain.errors import InvalidRequest, ProviderError
from castsmith.net.guard import GuardPolicy
from castsmith.providers import usage
from castsmith.providers._comfy import (
    WorkflowBuilder,
    WorkflowImageProvider,
    classify_prompt_error,
    graph_seed,
    output_images,
    queue_prompt_ids,
    rename_inputs,
    workflow_capabilities,
)
from castsmith.providers._comfy_errors import describe_prompt_error
from castsmith.providers._comfy_preflight import (
    Preflight,
    ServerNodes,
    fit_to_server,
    preflight,
)
from castsmith.providers._http import Boundary, secret_value
from castsmith.providers._support import Poller, Stopwatch
from castsmith.providers.base import (
    GeneratedImage,
    ImageResult,
    InputImage,
    ProgressCallback,
    Provenance,
    RemoteCall,
    RunWorkflow,
    report,
)

log = logging.getLogger("castsmith.providers.comfyui")


class _Done(Exception):
    """The socket saw the prompt finish."""


class ComfyUIProvider(WorkflowImageProvider):
    """ComfyUI workflows on a ComfyUI server (no auth unless a proxy asks for a token)."""

    name = "comfyui"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: SecretStr | str | None = None,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
        poll_max_interval: float = 5.0,
        max_wait: float = 1800.0,
        workflow_builder: WorkflowBuilder | None = None,
        download_guard: GuardPolicy | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.poll_max_interval = poll_max_interval
        self.max_wait = max_wait
        self.workflow_builder = workflow_builder
        key = secret_value(api_key)
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = Boundary(
            self.name,
            http,
            timeout,
            secrets=[key],
            classify=classify_prompt_error,
            guard=download_guard,
        )
        self.capabilities = workflow_capabilities(workflow_builder)
        self._nodes: ServerNodes | None = None

    def _ws_url(self, client_id: str) -> str:
        parts = urlsplit(self.base)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, f"{parts.path}/ws", f"clientId={client_id}", ""))

    async def run_workflow(
        self,
        request: RunWorkflow,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Upload inputs, queue the prompt, follow it to the end, fetch the images.

        With ``remote.resume_id`` nothing is queued: that prompt's history is followed.
        """
        call = remote or RemoteCall()
        if call.resume_id:
            return await self._resume(request, call.resume_id, progress)
        watch = Stopwatch()
        cached = self._nodes is not None
        workflow, notes = await self._prepare(request)
        renames: dict[str, str] = {}
        for image in request.images:
            stored = await self._upload(image)
            if stored != image.name:
                renames[image.name] = stored
        workflow = rename_inputs(workflow, renames)
        watch.lap("upload")
        client_id = uuid.uuid4().hex
        deadline = time.monotonic() + self.max_wait
        socket: ClientConnection | None = None
        try:
            socket = await connect(
                self._ws_url(client_id),
                open_timeout=self._http.timeout,
                additional_headers=self._headers,
                max_size=None,
            )
        except (OSError, WebSocketException, TimeoutError) as exc:
            log.warning("comfyui websocket unavailable (%s); polling history", type(exc).__name__)
        try:
            try:
                prompt_id = await self._queue(workflow, client_id)
            except InvalidRequest:
                # A rejected prompt costs nothing. If the node list was an old copy, the
                # server may have changed: check again, and queue once more only if
                # that changes the workflow (the refusal then names what is missing).
                if not cached:
                    raise
                again, notes = await self._prepare(request)
                again = rename_inputs(again, renames)
                if again == workflow:
                    raise
                workflow = again
                prompt_id = await self._queue(workflow, client_id)
            await call.submitted(prompt_id)
            await report(progress, 0.05, f"comfyui prompt {prompt_id} queued")
            if socket is not None:
                await self._follow(socket, prompt_id, deadline, progress)
        finally:
            if socket is not None:
                await socket.close()
        entry = await self._history(prompt_id, deadline)
        watch.lap("generate")
        return await self._result(prompt_id, entry, workflow, watch, notes, progress)

    async def _resume(
        self, request: RunWorkflow, prompt_id: str, progress: ProgressCallback | None
    ) -> ImageResult:
        """Follow a prompt queued by an earlier attempt to its end (history polling)."""
        watch = Stopwatch()
        await report(progress, 0.05, f"comfyui prompt {prompt_id} resumed")
        entry = await self._history(prompt_id, time.monotonic() + self.max_wait)
        watch.lap("generate")
        return await self._result(prompt_id, entry, dict(request.workflow), watch, (), progress)

    async def _result(
        self,
        prompt_id: str,
        entry: Mapping[str, Any],
        workflow: Mapping[str, Any],
        watch: Stopwatch,
        notes: tuple[str, ...],
        progress: ProgressCallback | None,
    ) -> ImageResult:
        images = [await self._view(ref) for ref in output_images(entry.get("outputs"))]
        if not images:
            raise self._http.invalid(
                f"comfyui prompt {prompt_id} finished without images "
                "(does the workflow end in a SaveImage node?)"
            )
        watch.lap("download")
        await report(progress, 1.0, "done")
        usage.note(images=len(images))
        return ImageResult(
            images=tuple(images),
            provenance=Provenance(
                provider=self.name,
                model=self.model,
                seed=graph_seed(workflow),
                provider_job_id=prompt_id,
                timings=watch.total(),
                notes=notes,
            ),
        )

    async def server_nodes(self) -> ServerNodes | None:
        """The server's ``/object_info``, read once and kept until a validation failure.

        None when the server does not offer it (an old server or a proxy in front): the
        workflow then goes to ``/prompt`` unchecked and the server's answer says the rest.
        """
        if self._nodes is None:
            try:
                response = await self._http.request(
                    "GET", f"{self.base}/object_info", headers=self._headers
                )
                self._nodes = ServerNodes.parse(self._http.json(response))
            except InvalidRequest as exc:
                log.warning("comfyui /object_info unavailable (%s); no preflight", exc)
                return None
        return self._nodes

    async def preflight(self, workflow: Mapping[str, Any]) -> Preflight | None:
        """What ``workflow`` needs from this server and what it lacks (None: unknown)."""
        nodes = await self.server_nodes()
        return None if nodes is None else preflight(workflow, nodes)

    async def _prepare(self, request: RunWorkflow) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The workflow as it will be queued, and notes on what was changed to run it."""
        workflow = dict(request.workflow)
        checked = await self.preflight(workflow)
        if checked is None:
            return workflow, ()
        try:
            return fit_to_server(workflow, checked, request.optional_nodes)
        except ValueError as exc:
            raise self._http.invalid(f"comfyui cannot run the workflow: {exc}") from None

    async def _upload(self, image: InputImage) -> str:
        response = await self._http.request(
            "POST",
            f"{self.base}/upload/image",
            headers=self._headers,
            files={"image": (image.name, image.data, image.content_type)},
            data={"overwrite": "true", "type": "input"},
        )
        body = self._http.json(response)
        if not isinstance(body, dict) or not body.get("name"):
            raise self._http.malformed("the upload answer has no name")
        name = str(body["name"])
        subfolder = str(body.get("subfolder") or "")
        return f"{subfolder}/{name}" if subfolder else name

    async def _queue(self, workflow: Mapping[str, Any], client_id: str) -> str:
        try:
            response = await self._http.request(
                "POST",
                f"{self.base}/prompt",
                json={"prompt": workflow, "client_id": client_id},
                headers=self._headers,
            )
        except InvalidRequest:
            self._nodes = None  # the server changed under us: read /object_info again
            raise
        body = self._http.json(response)
        if not isinstance(body, dict) or not body.get("prompt_id"):
            raise self._http.malformed("POST /prompt returned no prompt_id")
        if body.get("node_errors"):
            log.warning("comfyui skipped invalid outputs: %s", describe_prompt_error(body))
        return str(body["prompt_id"])

    async def _follow(
        self,
        socket: ClientConnection,
        prompt_id: str,
        deadline: float,
        progress: ProgressCallback | None,
    ) -> None:
        """Read socket events until the prompt ends; return early if the socket drops."""
        try:
            while True:
                # Not wait_for: on 3.11 it drops a cancellation that races a message.
                async with asyncio.timeout(deadline - time.monotonic()):
                    message = await socket.recv()
                if isinstance(message, bytes):
                    continue  # binary preview frames
                await self._event(json.loads(message), prompt_id, progress)
        except _Done:
            return
        except TimeoutError:
            raise self._timed_out(prompt_id) from None
        except (WebSocketException, OSError, ValueError) as exc:
            log.warning("comfyui websocket dropped (%s); polling history", type(exc).__name__)

    async def _event(self, event: Any, prompt_id: str, progress: ProgressCallback | None) -> None:
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        data = event.get("data") or {}
        if not isinstance(data, dict) or data.get("prompt_id", prompt_id) != prompt_id:
            return
        if kind == "progress" and data.get("max"):
            value, top = float(data.get("value", 0)), float(data["max"])
            await report(progress, 0.1 + 0.8 * value / top, f"step {int(value)}/{int(top)}")
        elif kind == "executing":
            if data.get("node") is None and "prompt_id" in data:
                raise _Done
            await report(progress, 0.1, f"running node {data.get('node')}")
        elif kind == "execution_success":
            raise _Done
        elif kind in ("execution_error", "execution_interrupted"):
            raise self._execution_error(prompt_id, data, kind)

    def _execution_error(self, prompt_id: str, data: Mapping[str, Any], kind: str) -> ProviderError:
        usage.note(remote_failed=kind)  # it ended: a retry queues it anew, not follows it
        if kind == "execution_interrupted":
            return ProviderError(f"comfyui prompt {prompt_id} was interrupted", self.name)
        message = (
            f"comfyui prompt {prompt_id} failed in node {data.get('node_id')} "
            f"{data.get('node_type', '')}: {data.get('exception_message', '').strip()}"
        )
        cause = str(data.get("exception_type", "")) + str(data.get("exception_message", ""))
        if "memory" in cause.lower():
            return self._http.unavailable(message)
        return self._http.invalid(message)

    def _timed_out(self, prompt_id: str) -> ProviderError:
        return self._http.unavailable(
            f"comfyui prompt {prompt_id} did not finish within {self.max_wait:g} s"
        )

    async def _history(self, prompt_id: str, deadline: float) -> dict[str, Any]:
        """The finished history entry; ``{}`` means still running (or unknown)."""
        poller = Poller(
            self.poll_interval, self.poll_max_interval, max(0.0, deadline - time.monotonic())
        )
        while True:
            response = await self._http.request(
                "GET", f"{self.base}/history/{prompt_id}", headers=self._headers
            )
            body = self._http.json(response)
            if not isinstance(body, dict):
                raise self._http.malformed("history is not an object")
            entry = body.get(prompt_id)
            if isinstance(entry, dict):
                status = entry.get("status") or {}
                if status.get("status_str") == "error":
                    for kind, data in status.get("messages") or []:
                        if kind in ("execution_error", "execution_interrupted"):
                            raise self._execution_error(prompt_id, data, kind)
                    usage.note(remote_failed="error")
                    raise self._http.unavailable(f"comfyui prompt {prompt_id} failed")
                return entry
            if poller.expired:
                raise self._timed_out(prompt_id)
            await poller.wait()

    async def _view(self, ref: Mapping[str, str]) -> GeneratedImage:
        url = str(httpx.URL(f"{self.base}/view", params=dict(ref)))
        data, content_type = await self._http.download(url, headers=self._headers)
        return GeneratedImage(data, content_type)

    async def cancel(self, provider_job_id: str) -> None:
        """Stop that prompt: interrupt it when it is the one running, else unqueue it.

        ``/interrupt`` stops whatever runs now, so it is sent only when ``/queue`` shows
        this prompt running; a waiting prompt is deleted from the queue instead.
        """
        response = await self._http.request("GET", f"{self.base}/queue", headers=self._headers)
        body = self._http.json(response)
        running = queue_prompt_ids(body.get("queue_running") if isinstance(body, dict) else None)
        pending = queue_prompt_ids(body.get("queue_pending") if isinstance(body, dict) else None)
        if provider_job_id in running:
            await self._http.request(
                "POST",
                f"{self.base}/interrupt",
                json={"prompt_id": provider_job_id},
                headers=self._headers,
            )
        elif provider_job_id in pending:
            await self._http.request(
                "POST",
                f"{self.base}/queue",
                json={"delete": [provider_job_id]},
                headers=self._headers,
            )

    async def check(self) -> str:
        """``/system_stats`` answers once the server is up."""
        response = await self._http.request(
            "GET", f"{self.base}/system_stats", headers=self._headers
        )
        body = self._http.json(response)
        system = body.get("system", {}) if isinstance(body, dict) else {}
        version = system.get("comfyui_version", "unknown") if isinstance(system, dict) else "?"
        return f"server reachable (ComfyUI {version})"
