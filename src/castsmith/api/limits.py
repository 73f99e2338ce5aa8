"""One limit on the size of every request body, enforced while the body streams in.

A declared ``Content-Length`` over the limit is refused before anything is read; a
body without one (chunked) is counted as it arrives and cut off at the limit. Either
way the answer is 413 and no route ever holds more than the limit in memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Room for the multipart framing around an upload of the largest allowed file.
FORM_ALLOWANCE = 64 * 1024


@dataclass(frozen=True)
class Allowance:
    """A larger limit for the routes whose path matches ``path`` (a LoRA upload)."""

    path: re.Pattern[str]
    max_bytes: int
    setting: str


class BodyLimit:
    """ASGI middleware: 413 for any request body over ``upload_bytes`` (plus framing).

    ``allowances`` name the few routes that take bigger files, each with its own limit.
    """

    def __init__(
        self, app: ASGIApp, upload_bytes: int, allowances: Sequence[Allowance] = ()
    ) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.allowances = tuple(allowances)

    def _limit(self, path: str) -> tuple[int, str]:
        for allowance in self.allowances:
            if allowance.path.fullmatch(path):
                return allowance.max_bytes, allowance.setting
        return self.upload_bytes, "CASTSMITH_MAX_UPLOAD_BYTES"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed, setting = self._limit(scope["path"])
        limit = allowed + FORM_ALLOWANCE
        refusal = f"the request body is larger than the upload limit ({allowed} bytes, {setting})"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, refusal)
            return
        seen = 0
        over = False
        started = False
        refused = False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # To the app the client went away; whatever it answers to that
                    # is replaced by the 413 below. Nothing past the limit is read.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def replaced(message: Message) -> None:
            nonlocal started, refused
            if refused:
                return  # the app's own answer to the "disconnect" is dropped
            if message["type"] == "http.response.start":
                if over:
                    refused = True
                    await _refuse(send, refusal)
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, counted, replaced)
        except Exception:
            if not over or started:
                raise
        if over and not (started or refused):
            await _refuse(send, refusal)


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"detail": message, "error": "ContentTooLarge"}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
