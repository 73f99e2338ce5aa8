"""Replicate trainings with ``ostris/flux-dev-lora-trainer`` (model and version configurable).

Submitting: the trainer version is pinned (configured, else the model's latest), the
destination model ``{owner}/flux-{name}`` is created when ``GET /v1/models`` says 404,
the dataset is the store's presigned URL or is uploaded through the Files API when the
store cannot presign, then ``POST .../versions/{v}/trainings``. That POST is sent once
and never retried here: the dataset URL is recorded first (:meth:`prepare`), and a lost
answer is resolved by :meth:`find_previous` (``GET /v1/trainings``) on the next attempt.
Weights come as a tar; its single ``.safetensors`` is kept.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from castsmith.domain.errors import InvalidRequest
from castsmith.net.guard import GuardPolicy
from castsmith.providers._http import Boundary, secret_value
from castsmith.providers.trainers._download import save_weights
from castsmith.providers.trainers._logs import progress_from_logs
from castsmith.providers.trainers.base import (
    DatasetZip,
    Submission,
    Submitted,
    Trainer,
    TrainingState,
)

STATES = {"starting": "queued", "processing": "running", "succeeded": "succeeded"}
_SLUG = re.compile(r"[^a-z0-9-]+")


class _Missing(InvalidRequest):
    """A 404 that means "create it"."""


def destination_name(name: str) -> str:
    """The destination model name for an actor: ``flux-<slug>``."""
    slug = _SLUG.sub("-", name.lower()).strip("-") or "actor"
    return f"flux-{slug}"[:100]


class ReplicateTrainer(Trainer):
    """Client of Replicate's trainings API."""

    name = "replicate"
    min_images = 2

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_token: SecretStr | str,
        base_url: str = "https://api.replicate.com",
        model: str = "ostris/flux-dev-lora-trainer",
        version: str = "",
        owner: str = "",
        timeout: float = 60.0,
        upload_timeout: float = 600.0,
        download_guard: GuardPolicy | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        self.base = base_url.rstrip("/").removesuffix("/v1") + "/v1"
        self.model = model
        self.version = version
        self.owner = owner
        self.upload_timeout = upload_timeout
        self.poll_interval = poll_interval
        self.guard = download_guard
        token = secret_value(api_token)
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = Boundary(self.name, http, timeout, secrets=[token])

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        url = path if path.startswith("http") else f"{self.base}{path}"
        headers = {**self._headers, **kwargs.pop("headers", {})}
        response = await self._http.request(method, url, headers=headers, **kwargs)
        return self._http.json(response) if response.content else {}

    async def _version(self) -> str:
        if self.version:
            return self.version
        data = await self._json("GET", f"/models/{self.model}")
        latest = (data.get("latest_version") or {}).get("id") if isinstance(data, dict) else None
        if not latest:
            raise self._http.malformed(f"model {self.model} has no latest version")
        self.version = str(latest)
        return self.version

    async def _owner(self) -> str:
        if self.owner:
            return self.owner
        data = await self._json("GET", "/account")
        username = data.get("username") if isinstance(data, dict) else None
        if not username:
            raise self._http.malformed("GET /v1/account has no username")
        self.owner = str(username)
        return self.owner

    async def ensure_destination(self, name: str) -> str:
        """``owner/name`` of the destination model, created (private) when missing."""
        owner = await self._owner()
        model = destination_name(name)
        try:
            await self._json(
                "GET",
                f"/models/{owner}/{model}",
                not_found=lambda _r: _Missing(f"no model {owner}/{model}", self.name),
            )
        except _Missing:
            await self._json(
                "POST",
                "/models",
                json={
                    "owner": owner,
                    "name": model,
                    "visibility": "private",
                    "hardware": "cpu",
                    "description": f"LoRA of {name}, trained by castsmith",
                },
            )
        return f"{owner}/{model}"

    async def upload(self, dataset: DatasetZip) -> str:
        """Upload the zip through the Files API (streamed); return its ``urls.get``."""
        boundary = uuid.uuid4().hex
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="content"; filename="{dataset.filename}"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        async def body() -> AsyncIterator[bytes]:
            yield head
            async for chunk in dataset.open():
                yield chunk
            yield tail

        data = await self._json(
            "POST",
            "/files",
            content=body(),
            timeout=self.upload_timeout,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + dataset.size + len(tail)),
            },
        )
        url = ((data.get("urls") or {}).get("get")) if isinstance(data, dict) else None
        if not url:
            raise self._http.malformed("the uploaded file has no urls.get")
        return str(url)

    async def dataset_url(self, dataset: DatasetZip) -> str:
        """The URL the trainer reads the zip from (presigned, else uploaded)."""
        return dataset.url or await self.upload(dataset)

    async def submit(self, submission: Submission) -> Submitted:
        """Create the training (once) and return its id."""
        version = await self._version()
        destination = await self.ensure_destination(submission.name)
        images = await self.dataset_url(submission.dataset)
        params = submission.params
        body = {
            "destination": destination,
            "input": {
                "input_images": images,
                "trigger_word": params.trigger_word,
                "steps": params.steps,
                "lora_rank": params.rank,
                "learning_rate": params.learning_rate,
                "resolution": str(params.resolution),
                "autocaption": False,
            },
        }
        data = await self._json(
            "POST", f"/models/{self.model}/versions/{version}/trainings", json=body
        )
        remote_id = data.get("id") if isinstance(data, dict) else None
        if not remote_id:
            raise self._http.malformed("the created training has no id")
        meta = {"destination": destination, "version": version, "input_images": images}
        return Submitted(str(remote_id), meta)

    async def prepare(self, submission: Submission) -> tuple[Submission, dict[str, Any]]:
        """Resolve the dataset URL now (presigned, or uploaded once) and record it: it is
        what :meth:`find` recognises the training by."""
        url = await self.dataset_url(submission.dataset)
        dataset = replace(submission.dataset, url=url)
        return replace(submission, dataset=dataset), {"input_images": url}

    async def find_previous(self, marker: dict[str, Any]) -> Submitted | None:
        """The training created from ``marker["input_images"]``, if Replicate lists it."""
        images = marker.get("input_images")
        if not isinstance(images, str) or not images:
            return None
        remote_id = await self.find(images)
        if remote_id is None:
            return None
        return Submitted(remote_id, {"input_images": images, "found_after_retry": True})

    async def find(self, input_images: str) -> str | None:
        """The id of a training already created for ``input_images`` (newest page only)."""
        data = await self._json("GET", "/trainings")
        for item in data.get("results") or [] if isinstance(data, dict) else []:
            if (item.get("input") or {}).get("input_images") == input_images:
                return str(item["id"])
        return None

    async def status(self, remote_id: str, meta: dict[str, Any]) -> TrainingState:
        """Map Replicate's training object to a :class:`TrainingState`."""
        data = await self._json("GET", f"/trainings/{remote_id}")
        if not isinstance(data, dict) or "status" not in data:
            raise self._http.malformed("a training without status")
        status = str(data["status"])
        logs = tuple(line for line in (data.get("logs") or "").splitlines() if line.strip())
        usage = data.get("metrics") or {}
        if status in ("failed", "canceled", "aborted"):
            state = "canceled" if status in ("canceled", "aborted") else "failed"
            error = data.get("error")
            return TrainingState(
                state, None, logs[-50:], str(error) if error else None, None, usage
            )
        mapped = STATES.get(status, "running")
        weights = None
        if mapped == "succeeded":
            output = data.get("output") or {}
            weights = output.get("weights") if isinstance(output, dict) else None
            if not weights:
                raise self._http.malformed("a succeeded training without output.weights")
            extra = {"version": output.get("version")}
            return TrainingState("succeeded", 1.0, logs[-50:], None, str(weights), usage, extra)
        return TrainingState(mapped, progress_from_logs(logs), logs[-50:], None, None, usage)

    async def cancel(self, remote_id: str, meta: dict[str, Any]) -> None:
        """``POST /v1/trainings/{id}/cancel``; a training that already ended is fine."""
        try:
            await self._json("POST", f"/trainings/{remote_id}/cancel")
        except InvalidRequest as exc:
            if "HTTP 404" not in str(exc):
                raise

    async def fetch_weights(self, state: TrainingState, dest: Path, max_bytes: int) -> int:
        """Download the tar and keep its single ``.safetensors``."""
        if state.weights is None:
            raise InvalidRequest("the training has no weights", self.name)
        return await save_weights(
            self._http, state.weights, dest, max_bytes, self.guard, self._headers
        )
