"""A fake OpenAI API: images generations/edits and chat completions.

Image answers carry ``b64_json`` (gpt-image) or, with ``response_mode = "url"``, a URL
served by the fake (dall-e style). A prompt containing ``BLOCKED`` is refused with
``moderation_blocked``. ``chat_reply`` is what chat completions answer (JSON text);
``refuse_chat`` makes them refuse. Edits record the multipart field names they got in
``edit_fields``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.server import FakeServer, bearer_ok, png

PNG = png((240, 240, 20))


def _error(status: int, message: str, type_: str, code: str | None = None) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": type_, "param": None, "code": code}},
        status_code=status,
    )


class FakeOpenAI(FakeServer):
    """``FakeOpenAI()``; clients use ``base_url=f"{fake.url}/v1"``."""

    def __init__(self, latency: float = 0.0, api_key: str = "sk-test-secret-789") -> None:
        super().__init__(latency)
        self.api_key = api_key
        self.response_mode = "b64"
        self.chat_reply: Any = {"ok": True}
        self.refuse_chat = False
        self.edit_fields: list[list[str]] = []

    def _check(self, request: Request) -> Response | None:
        if not bearer_ok(request, self.api_key):
            key = request.headers.get("authorization", "").removeprefix("Bearer ")
            return _error(
                401,
                f"Incorrect API key provided: {key}.",
                "invalid_request_error",
                "invalid_api_key",
            )
        return None

    def _images(self, n: int) -> Response:
        if self.response_mode == "url":
            data = [{"url": self.add_file(PNG)} for _ in range(n)]
        else:
            data = [{"b64_json": base64.b64encode(PNG).decode()} for _ in range(n)]
        return JSONResponse(
            {"created": int(time.time()), "data": data, "output_format": "png"},
            headers={"x-request-id": "req_fake"},
        )

    async def _generate(self, request: Request) -> Response:
        if (denied := self._check(request)) is not None:
            return denied
        body = await request.json()
        if "model" not in body:
            return _error(400, "model is required by this fake", "invalid_request_error")
        if "BLOCKED" in body.get("prompt", ""):
            return _error(
                400,
                "Your request was rejected by the safety system.",
                "image_generation_user_error",
                "moderation_blocked",
            )
        return self._images(int(body.get("n", 1)))

    async def _edit(self, request: Request) -> Response:
        if (denied := self._check(request)) is not None:
            return denied
        form = await request.form()
        self.edit_fields.append([k for k, _ in form.multi_items()])
        if not form.get("model"):
            return _error(400, "model is required by this fake", "invalid_request_error")
        if "BLOCKED" in str(form.get("prompt", "")):
            return _error(
                400,
                "Your request was rejected by the safety system.",
                "image_generation_user_error",
                "moderation_blocked",
            )
        return self._images(int(str(form.get("n", "1"))))

    async def _chat(self, request: Request) -> Response:
        if (denied := self._check(request)) is not None:
            return denied
        body = await request.json()
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if self.refuse_chat:
            message["refusal"] = "I can't help with that."
        else:
            message["content"] = (
                self.chat_reply if isinstance(self.chat_reply, str) else json.dumps(self.chat_reply)
            )
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            }
        )

    async def _models(self, request: Request) -> Response:
        if (denied := self._check(request)) is not None:
            return denied
        return JSONResponse({"object": "list", "data": [{"id": "gpt-image-1", "object": "model"}]})

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/images/generations", self._generate, methods=["POST"]),
            Route("/v1/images/edits", self._edit, methods=["POST"]),
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ]
