"""A request id on every request: in the logs while it runs and on its answer.

Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``: that one runs the rest of
the app in a task of its own and passes every message through memory streams, which
cost more per request than most read routes spend on their own work.
"""

from __future__ import annotations

import logging
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from castsmith.logs import request_id_var

log = logging.getLogger("castsmith.api")

HEADER = "x-request-id"
_HEADER = HEADER.encode()


def given_id(scope: Scope) -> str | None:
    """The request's own ``X-Request-Id`` (the first one), if it sent a non-empty one."""
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            return value.decode("latin-1") or None
    return None


class RequestIds:
    """ASGI middleware: the caller's ``X-Request-Id`` or a new one, for logs and answer.

    The id is in :data:`castsmith.logs.request_id_var` while the request runs and in the
    answer's ``X-Request-Id`` header. An exception that escapes the app before it
    answered is logged and becomes a 500 ``{"detail": "internal error"}``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = given_id(scope) or uuid.uuid4().hex
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # Replaces an id the app set itself, as the header it answers with.
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if started:
                raise  # too late for another answer: the server closes the connection
            log.exception("unhandled error", extra={"path": Request(scope).url.path})
            answer = JSONResponse({"detail": "internal error"}, status_code=500)
            await answer(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
