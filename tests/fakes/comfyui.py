"""A fake ComfyUI server: HTTP routes and the ``/ws`` websocket.

``POST /prompt`` validates like the real server (see ``comfy_nodes``: loader files not
in ``models`` or listed in ``missing_models`` fail with ``value_not_in_list``, a class
not in ``node_classes`` with ``invalid_prompt``, a graph without SaveImage with
``prompt_no_outputs``; ``/object_info`` lists both), then "executes" in the
background, sending ``status``, ``execution_start``, ``executing``, ``progress``
(``steps`` of them), ``executed``, ``execution_success`` and finally ``executing``
with ``node: null`` to the socket whose ``clientId`` queued it. Knobs:
``step_delay``; ``fail_execution`` (an ``execution_error`` from KSampler);
``drop_socket`` (close sockets mid-run; history still completes);
``websocket_enabled = False`` (refuse the socket); ``hang`` (never finish until
``/interrupt``). ``/history/{id}`` is ``{}`` until done; ``/view`` serves outputs;
``/upload/image`` renames clashing names to ``name (1).png`` unless ``overwrite``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.fakes.comfy_nodes import (
    CORE_NODES,
    DEFAULT_MODELS,
    OUTPUT_NODES,
    object_info,
    validate,
)
from tests.fakes.server import FakeServer, png

PNG = png((220, 160, 40))


class FakeComfyUI(FakeServer):
    """``FakeComfyUI(latency=0.0, steps=3)``; point clients at ``fake.url``."""

    def __init__(self, latency: float = 0.0, steps: int = 3, step_delay: float = 0.01) -> None:
        super().__init__(latency)
        self.steps = steps
        self.step_delay = step_delay
        self.missing_models: set[str] = set()
        self.models: set[str] = set(DEFAULT_MODELS)
        self.node_classes: set[str] = set(CORE_NODES) | {"TeaCache"}
        self.fail_execution = False
        self.drop_socket = False
        self.hang = False
        self.websocket_enabled = True
        self.history: dict[str, Any] = {}
        self.outputs: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.prompts: dict[str, dict[str, Any]] = {}
        self.interrupted: list[str] = []
        self.deleted: list[str] = []
        self.sockets: dict[str, WebSocket] = {}
        self._interrupt = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _ws(self, socket: WebSocket) -> None:
        client_id = socket.query_params.get("clientId") or uuid.uuid4().hex
        if not self.websocket_enabled:
            await socket.close(code=1008)  # like a proxy that refuses upgrades
            return
        await socket.accept()
        self.sockets[client_id] = socket
        await socket.send_json(
            {
                "type": "status",
                "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": client_id},
            }
        )
        try:
            while True:
                await socket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            if self.sockets.get(client_id) is socket:
                del self.sockets[client_id]

    async def _send(self, client_id: str, kind: str, data: dict[str, Any]) -> None:
        socket = self.sockets.get(client_id)
        if socket is None:
            return
        try:
            await socket.send_json({"type": kind, "data": data})
        except Exception:
            self.sockets.pop(client_id, None)

    def offered_models(self) -> set[str]:
        """The model files the server offers: installed ones, less ``missing_models``."""
        return set(self.models) - self.missing_models

    def install(self, *names: str) -> None:
        """Put model files on the server."""
        self.models.update(names)

    def _validate(self, prompt: Any) -> dict[str, Any] | None:
        return validate(prompt, self.node_classes, self.offered_models())

    async def _object_info(self, request: Request) -> Response:
        return JSONResponse(object_info(self.node_classes, self.offered_models()))

    async def _prompt(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return Response("500: Internal Server Error", status_code=500)
        problem = self._validate(body.get("prompt"))
        if problem is not None:
            return JSONResponse(problem, status_code=400)
        prompt_id = str(uuid.uuid4())
        self.prompts[prompt_id] = body["prompt"]
        task = asyncio.create_task(
            self._execute(prompt_id, str(body.get("client_id", "")), body["prompt"])
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return JSONResponse(
            {"prompt_id": prompt_id, "number": len(self.prompts), "node_errors": {}}
        )

    async def _execute(self, prompt_id: str, client_id: str, prompt: dict[str, Any]) -> None:
        base = {"prompt_id": prompt_id}
        await self._send(client_id, "execution_start", {**base, "timestamp": 1})
        await self._send(client_id, "execution_cached", {**base, "nodes": []})
        if self.drop_socket and client_id in self.sockets:
            await self.sockets.pop(client_id).close()
        sampler = next((k for k, n in prompt.items() if "Sampler" in n.get("class_type", "")), "1")
        await self._send(client_id, "executing", {**base, "node": sampler, "display_node": sampler})
        step = 0
        while step < self.steps or self.hang:
            if prompt_id in self.interrupted:
                data = {**base, "node_id": sampler, "node_type": "KSampler", "executed": []}
                await self._send(client_id, "execution_interrupted", data)
                self.history[prompt_id] = self._entry(
                    prompt, "error", {}, [["execution_interrupted", data]]
                )
                return
            await asyncio.sleep(self.step_delay)
            step += 1
            if step <= self.steps:
                await self._send(
                    client_id,
                    "progress",
                    {**base, "value": step, "max": self.steps, "node": sampler},
                )
        if self.fail_execution:
            data = {
                **base,
                "node_id": sampler,
                "node_type": "KSampler",
                "executed": [],
                "exception_message": "Expected all tensors to be on the same device",
                "exception_type": "RuntimeError",
                "traceback": [],
                "current_inputs": {},
                "current_outputs": {},
            }
            await self._send(client_id, "execution_error", data)
            self.history[prompt_id] = self._entry(prompt, "error", {}, [["execution_error", data]])
            return
        outputs: dict[str, Any] = {}
        for node_id, node in prompt.items():
            if node.get("class_type") in OUTPUT_NODES:
                kind = "temp" if node["class_type"] == "PreviewImage" else "output"
                name = f"ComfyUI_{len(self.outputs) + 1:05}_.png"
                self.outputs[name] = PNG
                outputs[node_id] = {"images": [{"filename": name, "subfolder": "", "type": kind}]}
                await self._send(
                    client_id,
                    "executed",
                    {**base, "node": node_id, "display_node": node_id, "output": outputs[node_id]},
                )
        self.history[prompt_id] = self._entry(
            prompt, "success", outputs, [["execution_success", base]]
        )
        await self._send(client_id, "execution_success", {**base, "timestamp": 2})
        await self._send(client_id, "executing", {**base, "node": None, "display_node": None})

    def _entry(
        self, prompt: dict[str, Any], status: str, outputs: dict[str, Any], messages: list[Any]
    ) -> dict[str, Any]:
        return {
            "prompt": [0, "", prompt, {}, []],
            "outputs": outputs,
            "status": {
                "status_str": status,
                "completed": status == "success",
                "messages": messages,
            },
            "meta": {},
        }

    async def _history(self, request: Request) -> Response:
        prompt_id = request.path_params["prompt_id"]
        entry = self.history.get(prompt_id)
        return JSONResponse({prompt_id: entry} if entry else {})

    async def _view(self, request: Request) -> Response:
        if self.files_expired_status is not None:
            return Response(status_code=self.files_expired_status)
        data = self.outputs.get(request.query_params.get("filename", ""))
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="image/png")

    async def _upload(self, request: Request) -> Response:
        form = await request.form()
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            return Response(status_code=400)
        data = await upload.read()
        name = upload.filename or "image.png"
        overwrite = form.get("overwrite") in ("true", "1")
        if name in self.uploads and self.uploads[name] != data and not overwrite:
            stem, _, ext = name.rpartition(".")
            name = f"{stem} (1).{ext}"
        self.uploads[name] = data
        return JSONResponse({"name": name, "subfolder": "", "type": "input"})

    async def _interrupt_route(self, request: Request) -> Response:
        body = await request.body()
        prompt_id = json.loads(body).get("prompt_id") if body else None
        running = [p for p in self.prompts if p not in self.history]
        self.interrupted += [p for p in running if prompt_id in (None, p)]
        return Response(status_code=200)

    async def _queue(self, request: Request) -> Response:
        unfinished = [p for p in self.prompts if p not in self.history and p not in self.deleted]
        if request.method == "GET":
            # The first unfinished prompt runs; the others wait (one GPU).
            entries = [[n, p, self.prompts[p], {}, []] for n, p in enumerate(unfinished)]
            return JSONResponse({"queue_running": entries[:1], "queue_pending": entries[1:]})
        body = await request.body()
        delete = json.loads(body).get("delete", []) if body else []
        self.deleted += [p for p in delete if p in unfinished[1:]]
        return Response(status_code=200)

    async def _stats(self, request: Request) -> Response:
        return JSONResponse({"system": {"comfyui_version": "0.8.0", "os": "posix"}, "devices": []})

    def routes(self) -> list[BaseRoute]:
        return [
            WebSocketRoute("/ws", self._ws),
            Route("/prompt", self._prompt, methods=["POST"]),
            Route("/history/{prompt_id}", self._history, methods=["GET"]),
            Route("/view", self._view, methods=["GET"]),
            Route("/upload/image", self._upload, methods=["POST"]),
            Route("/interrupt", self._interrupt_route, methods=["POST"]),
            Route("/queue", self._queue, methods=["GET", "POST"]),
            Route("/system_stats", self._stats, methods=["GET"]),
            Route("/object_info", self._object_info, methods=["GET"]),
        ]
