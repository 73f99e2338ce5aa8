"""Shared harness for the poster tests: the app, its container and an in-process worker.

No tests live here; the API and remote-provider poster tests import from it.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from castsmith.api.app import create_app
from castsmith.bootstrap import Container, build_container
from castsmith.config import Settings
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.worker import Worker

SEED_SIZES = {"webp_sm": 256, "webp_md": 512, "webp_lg": 1024}
DESCRIPTION = "a young European woman with long brown hair, brown eyes"


@dataclass
class PosterEnv:
    """A running app (ASGI client), its container and the queue its worker serves."""

    client: httpx.AsyncClient
    container: Container
    queue: JobQueue
    worker: Worker

    async def create_actor(self, name: str = "0001_european_20_female", **fields: Any) -> int:
        body = {
            "name": name,
            "description": DESCRIPTION,
            "lora": {"model_url": f"s3://models/{name}.safetensors", "trigger_word": "ohwx"},
        }
        body.update(fields)
        answer = await self.client.post("/api/actors", json=body)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    async def fetch(self, url: str) -> bytes:
        """The bytes at a poster URL: the app's signed link, or the S3 server's URL."""
        if url.startswith(str(self.container.settings.public_base_url)):
            parts = urlsplit(url)
            answer = await self.client.get(f"{parts.path}?{parts.query}")
        else:
            async with httpx.AsyncClient() as http:
                answer = await http.get(url)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
        return answer.content

    async def wait_job(self, job_id: int, seconds: float = 30.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            job = await asyncio.to_thread(self.queue.get, job_id)
            if job.status in {"completed", "completed_with_errors", "failed", "cancelled"}:
                return {
                    "status": job.status,
                    "result": job.result,
                    "error": job.error,
                    "error_log": job.error_log,
                }
            assert asyncio.get_running_loop().time() < deadline, f"job {job_id} still {job.status}"
            await asyncio.sleep(0.05)


def webp_size(data: bytes) -> tuple[int, int]:
    """Width and height of WebP bytes (and check that they are WebP)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    with Image.open(io.BytesIO(data)) as image:
        return image.size


@asynccontextmanager
async def poster_env(settings: Settings) -> AsyncIterator[PosterEnv]:
    """The app on ``settings`` with a worker running poster jobs in this event loop."""
    container = build_container(settings)
    queue = container.queue
    worker = Worker(
        queue,
        container.registry,
        container,
        concurrency=4,
        poll_interval=0.05,
        heartbeat_interval=0.5,
        shutdown_grace=5.0,
    )
    task = asyncio.create_task(worker.run())
    app = create_app(container)
    if not any(getattr(route, "path", "").startswith("/files") for route in app.routes):
        from castsmith.api import files

        app.include_router(files.router)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=str(settings.public_base_url)
        ) as client:
            yield PosterEnv(client, container, queue, worker)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)
        await container.store.close()
        container.close()
