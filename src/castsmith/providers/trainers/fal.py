"""fal queue trainers: ``fal-ai/flux-lora-fast-training`` and ``fal-ai/flux-lora-portrait-trainer``.

Submit ``POST {queue}/{endpoint}``, poll ``status_url?logs=1`` (``IN_QUEUE`` ->
``IN_PROGRESS`` -> ``COMPLETED``), then read ``response_url``: the output's
``diffusers_lora_file.url`` is the LoRA itself, or a non-2xx ``detail`` is the failure.
Cancel is ``PUT cancel_url``. The fast trainer takes ``trigger_word``; the portrait
trainer takes ``trigger_phrase`` (and a learning rate). When the store cannot presign,
the zip is uploaded to fal's CDN first (token, then one streamed upload).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from castsmith.domain.errors import InvalidRequest
from castsmith.net.guard import GuardPolicy
from castsmith.providers._http import Boundary, reason_of, secret_value
from castsmith.providers.trainers._download import save_weights
from castsmith.providers.trainers._logs import progress_from_logs
from castsmith.providers.trainers.base import (
    DatasetZip,
    Submission,
    Submitted,
    Trainer,
    TrainingState,
)

FAST = "fal-ai/flux-lora-fast-training"
PORTRAIT = "fal-ai/flux-lora-portrait-trainer"
KEEP_FILES = json.dumps({"expiration_duration_seconds": 7 * 24 * 3600})


class FalTrainer(Trainer):
    """``FalTrainer(http, api_key=..., endpoint=FAST)``; ``name`` is ``fal`` or ``fal-portrait``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: SecretStr | str,
        endpoint: str = FAST,
        queue_url: str = "https://queue.fal.run",
        rest_url: str = "https://rest.fal.ai",
        timeout: float = 60.0,
        upload_timeout: float = 600.0,
        download_guard: GuardPolicy | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        self.endpoint = endpoint
        self.portrait = endpoint == PORTRAIT
        self.name = "fal-portrait" if self.portrait else "fal"
        # fal advises at least 4 images for the fast trainer and 10 for portraits.
        self.min_images = 10 if self.portrait else 4
        self.queue = queue_url.rstrip("/")
        self.rest = rest_url.rstrip("/")
        self.upload_timeout = upload_timeout
        self.poll_interval = poll_interval
        self.guard = download_guard
        key = secret_value(api_key)
        self._headers = {"Authorization": f"Key {key}"}
        self._http = Boundary(self.name, http, timeout, secrets=[key])

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        return await self._http.request(method, url, headers=headers, **kwargs)

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        data = self._http.json(await self._call(method, url, **kwargs))
        if not isinstance(data, dict):
            raise self._http.malformed("expected a JSON object")
        return data

    async def upload(self, dataset: DatasetZip) -> str:
        """Upload the zip to fal's CDN; return its ``access_url``."""
        token = await self._json(
            "POST", f"{self.rest}/storage/auth/token?storage_type=fal-cdn-v3", json={}
        )
        base = str(token.get("base_url") or "").rstrip("/")
        if not token.get("token") or not base:
            raise self._http.malformed("the upload token answer lacks token or base_url")
        auth = f"{token.get('token_type') or 'Bearer'} {token['token']}"
        response = await self._http.request(
            "POST",
            f"{base}/files/upload",
            content=dataset.open(),
            timeout=self.upload_timeout,
            headers={
                "Authorization": auth,
                "Content-Type": "application/zip",
                "Content-Length": str(dataset.size),
                "X-Fal-File-Name": dataset.filename,
            },
        )
        data = self._http.json(response)
        url = data.get("access_url") if isinstance(data, dict) else None
        if not url:
            raise self._http.malformed("the upload answer has no access_url")
        return str(url)

    def _input(self, submission: Submission, images: str) -> dict[str, Any]:
        params = submission.params
        body: dict[str, Any] = {"images_data_url": images, "steps": params.steps}
        if self.portrait:
            body["trigger_phrase"] = params.trigger_word
            body["learning_rate"] = params.learning_rate
        else:
            body["trigger_word"] = params.trigger_word
            body["create_masks"] = True
        return body

    async def submit(self, submission: Submission) -> Submitted:
        """Queue the training once and return its ``request_id``."""
        images = submission.dataset.url or await self.upload(submission.dataset)
        data = await self._json(
            "POST",
            f"{self.queue}/{self.endpoint}",
            json=self._input(submission, images),
            headers={"X-Fal-Object-Lifecycle-Preference": KEEP_FILES},
        )
        request_id = data.get("request_id")
        if not request_id:
            raise self._http.malformed("the queue answer has no request_id")
        base = f"{self.queue}/{self.endpoint}/requests/{request_id}"
        meta = {
            "status_url": str(data.get("status_url") or f"{base}/status"),
            "response_url": str(data.get("response_url") or base),
            "cancel_url": str(data.get("cancel_url") or f"{base}/cancel"),
            "endpoint": self.endpoint,
            "input_images": images,
        }
        return Submitted(str(request_id), meta)

    async def status(self, remote_id: str, meta: dict[str, Any]) -> TrainingState:
        """Poll the status; on ``COMPLETED`` read the result to tell success from failure."""
        data = await self._json("GET", f"{meta['status_url']}?logs=1")
        status = str(data.get("status") or "")
        logs = tuple(
            str(entry.get("message", ""))
            for entry in data.get("logs") or []
            if isinstance(entry, dict) and entry.get("message")
        )
        if status == "IN_QUEUE":
            position = data.get("queue_position")
            return TrainingState("queued", 0.0, (f"in queue, position {position}",))
        if status == "IN_PROGRESS":
            return TrainingState("running", progress_from_logs(logs), logs[-50:])
        if status != "COMPLETED":
            raise self._http.malformed(f"unknown status {status!r}")
        usage = data.get("metrics") or {}
        if data.get("error"):
            return TrainingState("failed", None, logs[-50:], str(data["error"]), None, usage)
        response = await self._http.http.get(
            meta["response_url"], headers=self._headers, timeout=self._http.timeout
        )
        if response.status_code >= 500 or response.status_code == 429:
            raise self._http.error_for(response)
        if not response.is_success:
            reason = self._http.redact(reason_of(response))
            return TrainingState("failed", None, logs[-50:], reason, None, usage)
        result = self._http.json(response)
        lora = (result or {}).get("diffusers_lora_file") if isinstance(result, dict) else None
        url = lora.get("url") if isinstance(lora, dict) else None
        if not url:
            raise self._http.malformed("the result has no diffusers_lora_file.url")
        extra = {"config_file": (result.get("config_file") or {}).get("url")}
        return TrainingState("succeeded", 1.0, logs[-50:], None, str(url), usage, extra)

    async def cancel(self, remote_id: str, meta: dict[str, Any]) -> None:
        """``PUT cancel_url``; ``ALREADY_COMPLETED`` (400) and ``NOT_FOUND`` (404) are fine."""
        try:
            await self._call("PUT", meta["cancel_url"])
        except InvalidRequest as exc:
            if "HTTP 400" not in str(exc) and "HTTP 404" not in str(exc):
                raise

    async def fetch_weights(self, state: TrainingState, dest: Path, max_bytes: int) -> int:
        """Download the ``.safetensors`` (fal gives it plain) and check it."""
        if state.weights is None:
            raise InvalidRequest("the training has no weights", self.name)
        return await save_weights(self._http, state.weights, dest, max_bytes, self.guard)
