"""The base of every fake provider server: real HTTP on loopback, scriptable.

A fake is a Starlette app run by uvicorn in a background thread on a free port.
Every request is recorded in ``calls``; ``script()`` makes the next matching
request(s) answer with a chosen status, body, headers or delay (429s, 5xx, malformed
JSON, slow answers); ``latency`` delays every answer; ``add_file()`` serves output
files whose links can be expired with ``expire_files()``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tests.services import free_port


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Scripted:
    """A canned answer for the next ``times`` requests matching method and path prefix."""

    path: str
    method: str | None = None
    status: int = 200
    json: Any = None
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    passthrough: bool = False  # only delay, then answer normally

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path) and (self.method is None or self.method == method)

    def response(self) -> Response:
        if self.json is not None:
            content: bytes | str = json.dumps(self.json)
            media = "application/json"
        else:
            content = self.body if self.body is not None else b""
            media = "application/json" if self.body is not None else "text/plain"
        return Response(content, status_code=self.status, headers=self.headers, media_type=media)


class FakeServer:
    """Subclasses provide ``routes()``; the base records, scripts, delays and serves."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls: list[Call] = []
        self.scripts: list[Scripted] = []
        self.files: dict[str, tuple[bytes, str]] = {}
        self.files_expired_status: int | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # --- to override ---------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """The vendor's routes."""
        return []

    # --- scripting ---------------------------------------------------------------------
    def script(self, path: str, **kwargs: Any) -> Scripted:
        """Answer the next request(s) whose path starts with ``path`` as given."""
        entry = Scripted(path=path, **kwargs)
        self.scripts.append(entry)
        return entry

    def calls_to(self, path: str, method: str | None = None) -> list[Call]:
        """Recorded calls whose path starts with ``path``."""
        return [c for c in self.calls if c.path.startswith(path) and method in (None, c.method)]

    def add_file(self, data: bytes, content_type: str = "image/png", suffix: str = ".png") -> str:
        """Serve ``data`` under a new URL and return it."""
        self._counter += 1
        name = f"out_{self._counter}{suffix}"
        self.files[name] = (data, content_type)
        return f"{self.url}/files/{name}"

    def expire_files(self, status: int = 403) -> None:
        """Make every file link answer ``status`` (403 like an expired presigned URL)."""
        self.files_expired_status = status

    def next_id(self, prefix: str = "") -> str:
        self._counter += 1
        return f"{prefix}{self._counter:04d}-{int(time.time() * 1000) % 100000}"

    # --- plumbing --------------------------------------------------------------------------
    async def _file(self, request: Request) -> Response:
        if self.files_expired_status is not None:
            return Response(
                "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                status_code=self.files_expired_status,
                media_type="application/xml",
            )
        entry = self.files.get(request.path_params["name"])
        if entry is None:
            return Response(status_code=404)
        return Response(entry[0], media_type=entry[1])

    def app(self) -> Any:
        inner = Starlette(routes=[*self.routes(), Route("/files/{name}", self._file)])

        async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            body = b""
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            method, path = scope["method"], scope["path"]
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            self.calls.append(Call(method, path, scope["query_string"].decode(), headers, body))
            if self.latency:
                await asyncio.sleep(self.latency)
            for entry in list(self.scripts):
                if entry.matches(method, path):
                    entry.times -= 1
                    if entry.times <= 0:
                        self.scripts.remove(entry)
                    if entry.delay:
                        await asyncio.sleep(entry.delay)
                    if not entry.passthrough:
                        await entry.response()(scope, receive, send)
                        return
                    break
            sent = False

            async def replay() -> dict[str, Any]:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await inner(scope, replay, send)

        return asgi

    def start(self) -> FakeServer:
        """Serve in a background thread; returns once the port accepts connections."""
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving (connections then fail like an unreachable provider)."""
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bearer_ok(request: Request, token: str) -> bool:
    """True when the request carries ``Authorization: Bearer <token>``."""
    return request.headers.get("authorization") == f"Bearer {token}"


def png(colour: tuple[int, int, int] = (200, 80, 40), size: int = 32) -> bytes:
    """A small solid PNG."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="PNG")
    return out.getvalue()
