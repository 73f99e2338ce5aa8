"""Flowise chatflows as a text provider (persona data, image prompts).

``POST {url}/api/v1/prediction/{chatflow_id}`` with ``{question, overrideConfig}``;
the answer's ``json`` field is used when present, else ``text`` holding JSON (often in
a ```json fence, which is stripped).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from pydantic import SecretStr

from castsmith.providers._http import Boundary, extract_json, secret_value
from castsmith.providers._support import Stopwatch, conform, schema_dict
from castsmith.providers.base import (
    ProgressCallback,
    Provenance,
    TextProvider,
    TextRequest,
    TextResult,
    report,
)


class FlowiseText(TextProvider):
    """A Flowise chatflow answering with JSON."""

    name = "flowise"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        chatflow_id: str,
        api_key: SecretStr | str | None = None,
        timeout: float = 180.0,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.chatflow_id = chatflow_id
        key = secret_value(api_key)
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = Boundary(self.name, http, timeout, secrets=[key])

    @property
    def _url(self) -> str:
        return f"{self.base}/api/v1/prediction/{self.chatflow_id}"

    def _question(self, request: TextRequest) -> str:
        parts = [request.system, request.prompt] if request.system else [request.prompt]
        if request.schema is not None:
            parts.append(
                "Answer only with JSON matching this schema:\n"
                + json.dumps(schema_dict(request.schema))
            )
        return "\n\n".join(parts)

    async def generate_json(
        self, request: TextRequest, progress: ProgressCallback | None = None
    ) -> TextResult:
        """Ask the chatflow; parse ``json`` or the JSON inside ``text``."""
        override: dict[str, Any] = {"sessionId": uuid.uuid4().hex}
        if request.variables:
            override["vars"] = {k: v for k, v in request.variables.items()}
        await report(progress, 0.1, "flowise is writing")
        watch = Stopwatch()
        response = await self._http.request(
            "POST",
            self._url,
            json={"question": self._question(request), "overrideConfig": override},
            headers=self._headers,
            not_found=lambda r: self._http.invalid(
                f"flowise chatflow {self.chatflow_id} not found at {self.base}"
            ),
        )
        body = self._http.json(response)
        if not isinstance(body, dict):
            raise self._http.malformed("the prediction is not an object")
        data: Any = body.get("json")
        if not isinstance(data, dict):
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise self._http.malformed("the answer has neither json nor text")
            try:
                data = extract_json(text)
            except ValueError:
                raise self._http.malformed("the answer text holds no JSON") from None
        watch.lap("generate")
        return TextResult(
            data=conform(data, request.schema, self.name),
            provenance=Provenance(
                provider=self.name,
                model=f"chatflow:{self.chatflow_id}",
                seed=request.seed,
                provider_job_id=body.get("chatMessageId") or body.get("chatId"),
                timings=watch.total(),
            ),
        )

    async def check(self) -> str:
        """Fetch the chatflow's streaming flag (a cheap authenticated read)."""
        await self._http.request(
            "GET",
            f"{self.base}/api/v1/chatflows-streaming/{self.chatflow_id}",
            headers=self._headers,
            not_found=lambda r: self._http.invalid(
                f"flowise chatflow {self.chatflow_id} not found at {self.base}"
            ),
        )
        return f"chatflow {self.chatflow_id} reachable"
