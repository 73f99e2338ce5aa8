"""A fake Google API: Vertex AI Imagen ``:predict`` and Gemini ``generateContent``.

``filter_all`` makes Imagen return only ``raiFilteredReason`` entries and Gemini a
``promptFeedback.blockReason``. A prompt containing ``sensitive`` is refused with the
documented 400. Imagen needs ``Authorization: Bearer``; Gemini ``x-goog-api-key``.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.server import FakeServer, png

PNG = png((90, 40, 160))


def _error(code: int, message: str, status: str) -> Response:
    return JSONResponse(
        {"error": {"code": code, "message": message, "status": status}}, status_code=code
    )


class FakeGoogle(FakeServer):
    """``FakeGoogle()``; clients use ``base_url=fake.url``."""

    def __init__(self, latency: float = 0.0, api_key: str = "AIza-test-secret-000") -> None:
        super().__init__(latency)
        self.api_key = api_key
        self.filter_all = False
        self.requests: list[dict[str, Any]] = []

    async def _vertex(self, request: Request) -> Response:
        rest = request.path_params["rest"]
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        if request.method == "GET":
            return JSONResponse({"name": rest})
        if not rest.endswith(":predict"):
            return _error(404, "not found", "NOT_FOUND")
        body = await request.json()
        self.requests.append(body)
        prompt = body["instances"][0]["prompt"]
        if "sensitive" in prompt:
            return _error(
                400,
                "Image generation failed with the following error: The prompt could not be "
                "submitted. That prompt contains sensitive words that violate Google's "
                "Responsible AI practices.",
                "INVALID_ARGUMENT",
            )
        count = int(body.get("parameters", {}).get("sampleCount", 1))
        if self.filter_all:
            preds: list[dict[str, Any]] = [
                {
                    "raiFilteredReason": "filtered out because they violated usage guidelines. "
                    "Support codes: 29310472"
                }
            ]
        else:
            preds = [
                {"bytesBase64Encoded": base64.b64encode(PNG).decode(), "mimeType": "image/png"}
                for _ in range(count)
            ]
        return JSONResponse({"predictions": preds})

    async def _gemini(self, request: Request) -> Response:
        if request.headers.get("x-goog-api-key") != self.api_key:
            return _error(
                400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"
            )
        rest = request.path_params.get("rest", "")
        if request.method == "GET":
            return JSONResponse({"models": [{"name": "models/gemini-2.5-flash-image"}]})
        if not rest.endswith(":generateContent"):
            return _error(404, "not found", "NOT_FOUND")
        body = await request.json()
        self.requests.append(body)
        if self.filter_all:
            return JSONResponse({"promptFeedback": {"blockReason": "SAFETY"}})
        parts = [
            {"text": "Here you go."},
            {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}},
        ]
        return JSONResponse(
            {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]}
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/projects/{rest:path}", self._vertex, methods=["GET", "POST"]),
            Route("/v1beta/models", self._gemini, methods=["GET"]),
            Route("/v1beta/models/{rest:path}", self._gemini, methods=["GET", "POST"]),
        ]
