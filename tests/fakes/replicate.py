"""A fake Replicate API: model predictions with ``Prefer: wait``, polling and cancel.

Predictions stay ``starting``/``processing`` for ``polls_before_done`` polls unless
``Prefer: wait`` is sent and ``sync_finishes`` is true. ``output_mode`` is ``"url"``
(one URL, like flux-kontext-pro), ``"list"`` or ``"data_uri"``. ``fail_next(error)``
makes the next prediction end ``failed``; inputs are kept in ``inputs`` for asserts.
``create_answer_delay`` holds back the answer to a create after the prediction exists
(a client gone meanwhile never learns its id, as with Replicate).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.server import FakeServer, bearer_ok, png

PNG = png((120, 200, 90))


class FakeReplicate(FakeServer):
    """``FakeReplicate(latency=0.0)``; clients use ``base_url=fake.url``."""

    def __init__(
        self,
        latency: float = 0.0,
        token: str = "r8_test_token_456",  # noqa: S107
        polls_before_done: int = 1,
    ) -> None:
        super().__init__(latency)
        self.token = token
        self.polls_before_done = polls_before_done
        self.sync_finishes = True
        self.create_answer_delay = 0.0
        self.output_mode = "url"
        self.predictions: dict[str, dict[str, Any]] = {}
        self.inputs: list[dict[str, Any]] = []
        self._failures: list[str] = []

    def fail_next(self, error: str) -> None:
        """The next prediction ends ``failed`` with this error."""
        self._failures.append(error)

    def _output(self) -> Any:
        if self.output_mode == "data_uri":
            return "data:application/octet-stream;base64," + base64.b64encode(PNG).decode()
        url = self.add_file(PNG)
        return [url] if self.output_mode == "list" else url

    def _finish(self, p: dict[str, Any]) -> None:
        if p.pop("_fail", None) is not None:
            p.update(status="failed", error=p.pop("_error"))
        else:
            p.update(status="succeeded", output=self._output(), metrics={"predict_time": 1.2})

    def _public(self, p: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in p.items() if not k.startswith("_")}

    async def _create(self, request: Request) -> Response:
        if not bearer_ok(request, self.token):
            return JSONResponse(
                {
                    "title": "Unauthenticated",
                    "detail": "You did not pass a valid authentication token",
                    "status": 401,
                },
                status_code=401,
            )
        body = await request.json()
        data = body.get("input") or {}
        if not data.get("prompt"):
            return JSONResponse(
                {
                    "title": "Input validation failed",
                    "detail": "input: prompt is required",
                    "status": 422,
                },
                status_code=422,
            )
        self.inputs.append(data)
        pid = self.next_id("p")
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        p: dict[str, Any] = {
            "id": pid,
            "model": model,
            "version": "hidden",
            "status": "starting",
            "input": data,
            "output": None,
            "error": None,
            "logs": "",
            "metrics": {},
            "urls": {
                "get": f"{self.url}/v1/predictions/{pid}",
                "cancel": f"{self.url}/v1/predictions/{pid}/cancel",
            },
            "_polls": self.polls_before_done,
        }
        if self._failures:
            p["_fail"], p["_error"] = True, self._failures.pop(0)
        self.predictions[pid] = p
        if request.headers.get("prefer", "").startswith("wait") and self.sync_finishes:
            self._finish(p)
        if self.create_answer_delay:
            await asyncio.sleep(self.create_answer_delay)
        return JSONResponse(self._public(p), status_code=201)

    async def _get(self, request: Request) -> Response:
        p = self.predictions.get(request.path_params["pid"])
        if p is None:
            return JSONResponse({"detail": "Not found."}, status_code=404)
        if p["status"] in ("starting", "processing"):
            if p["_polls"] <= 0:
                self._finish(p)
            else:
                p["_polls"] -= 1
                p["status"] = "processing"
        return JSONResponse(self._public(p))

    async def _cancel(self, request: Request) -> Response:
        p = self.predictions.get(request.path_params["pid"])
        if p is None:
            return JSONResponse({"detail": "Not found."}, status_code=404)
        if p["status"] in ("starting", "processing"):
            p["status"] = "canceled"
        return JSONResponse(self._public(p))

    async def _list(self, request: Request) -> Response:
        if not bearer_ok(request, self.token):
            return JSONResponse({"detail": "Unauthenticated"}, status_code=401)
        return JSONResponse({"next": None, "previous": None, "results": []})

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/models/{owner}/{name}/predictions", self._create, methods=["POST"]),
            Route("/v1/predictions", self._list, methods=["GET"]),
            Route("/v1/predictions/{pid}", self._get, methods=["GET"]),
            Route("/v1/predictions/{pid}/cancel", self._cancel, methods=["POST"]),
        ]
