"""A fake Flowise server: ``POST /api/v1/prediction/{chatflow_id}``.

``reply`` is the JSON the flow answers with; ``reply_mode`` chooses how it comes back:
``"json"`` (the ``json`` field of a structured-output chatflow), ``"fenced"`` (an
agentflow's ```json fenced ``text``) or ``"prose"`` (JSON inside prose). With
``api_key`` set, requests need ``Authorization: Bearer``. Unknown chatflows get 404.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.server import FakeServer


def _error(status: int, message: str) -> Response:
    return JSONResponse(
        {"statusCode": status, "success": False, "message": message, "stack": {}},
        status_code=status,
    )


class FakeFlowise(FakeServer):
    """``FakeFlowise(chatflow_id="flow-1")``; clients use ``base_url=fake.url``."""

    def __init__(
        self,
        latency: float = 0.0,
        chatflow_id: str = "flow-1",
        api_key: str | None = "fw-test-key-321",
    ) -> None:
        super().__init__(latency)
        self.chatflow_id = chatflow_id
        self.api_key = api_key
        self.reply: Any = {"first_name": "Ada", "last_name": "Lovelace"}
        self.reply_mode = "json"
        self.questions: list[dict[str, Any]] = []

    def _denied(self, request: Request) -> Response | None:
        if request.path_params["flow"] != self.chatflow_id:
            return _error(404, f"Chatflow {request.path_params['flow']} not found")
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Unauthorized Access")
        return None

    async def _predict(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        self.questions.append(body)
        base = {"question": body.get("question"), "chatId": "chat-1", "chatMessageId": "msg-1"}
        text = json.dumps(self.reply, indent=2)
        if self.reply_mode == "json":
            return JSONResponse({**base, "json": self.reply, "text": ""})
        if self.reply_mode == "fenced":
            return JSONResponse({**base, "text": f"```json\n{text}\n```"})
        return JSONResponse({**base, "text": f"Sure! Here is the person:\n{text}\nHope it helps."})

    async def _streaming(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        return JSONResponse({"isStreaming": False})

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/v1/prediction/{flow}", self._predict, methods=["POST"]),
            Route("/api/v1/chatflows-streaming/{flow}", self._streaming, methods=["GET"]),
        ]
