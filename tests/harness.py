"""One way for tests to run the app: its container, an ASGI client and an in-process worker.

``running_app(settings, **worker_options)`` builds the real container for ``settings``,
starts a :class:`~castsmith.jobs.worker.Worker` in the test's event loop (unless
``worker=False``) and yields an :class:`AppEnv`. Pipeline-specific helpers (fake
providers, seed field lists) stay in the pipelines' own support modules.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from castsmith.api.app import create_app
from castsmith.bootstrap import Container, build_container
from castsmith.config import Settings
from castsmith.domain.access import OPERATOR
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.types import JobView
from castsmith.jobs.waiting import wait_for_job
from castsmith.jobs.worker import Worker

DESCRIPTION = "a young European woman with long brown hair, brown eyes"
FINISHED = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})

# Fast enough that a test sees its job picked up at once, with room for slow CI machines.
WORKER_DEFAULTS: dict[str, Any] = {
    "concurrency": 8,
    "poll_interval": 0.05,
    "heartbeat_interval": 0.5,
    "shutdown_grace": 5.0,
}


async def wait_job(container: Container | JobQueue, job_id: int, timeout: float = 60) -> JobView:
    """The job once it has ended; fails the test if it is still going after ``timeout``."""
    queue = container if isinstance(container, JobQueue) else container.queue
    job = await wait_for_job(queue, job_id, timeout, max_poll=0.05)
    if job is None:
        current = await asyncio.to_thread(queue.get, job_id)
        raise AssertionError(f"job {job_id} still {current.status} after {timeout} s")
    return job


@dataclass
class AppEnv:
    """A running app (ASGI client), its container, its queue and the worker serving it."""

    client: httpx.AsyncClient
    container: Container
    queue: JobQueue
    worker: Worker | None

    async def create_actor(self, name: str = "0001_european_20_female", **fields: Any) -> int:
        """Create an actor through the API (LoRA and description filled in); its id."""
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
        """The bytes at an asset URL: the app's signed link, or the S3 server's URL."""
        if url.startswith(str(self.container.settings.public_base_url)):
            parts = urlsplit(url)
            answer = await self.client.get(f"{parts.path}?{parts.query}")
        else:
            async with httpx.AsyncClient() as http:
                answer = await http.get(url)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
        return answer.content

    async def wait_job(self, job_id: int, seconds: float = 30.0) -> dict[str, Any]:
        """The ended job as a dict (``status``, ``result``, ``error``, ``error_log``...)."""
        return asdict(await wait_job(self.queue, job_id, seconds))


def operator_container(settings: Settings) -> Container:
    """A container acting as the operator, as the command line's is: tests that call use
    cases directly do so with the operator's authority. The app and the worker scope it
    to each request's caller and each job's owner themselves."""
    return build_container(settings).acting_for(OPERATOR)


@asynccontextmanager
async def running_app(
    settings: Settings, *, worker: bool = True, **worker_options: Any
) -> AsyncIterator[AppEnv]:
    """The app on ``settings``; with ``worker`` a worker runs every job kind in this loop.

    ``worker_options`` override :data:`WORKER_DEFAULTS` (``concurrency``,
    ``retry_policy``...).
    """
    container = operator_container(settings)
    runner: Worker | None = None
    task: asyncio.Task[None] | None = None
    if worker:
        options = {**WORKER_DEFAULTS, **worker_options}
        runner = Worker(container.queue, container.registry, services=container, **options)
        task = asyncio.create_task(runner.run())
    transport = httpx.ASGITransport(app=create_app(container))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=str(settings.public_base_url)
        ) as client:
            yield AppEnv(client, container, container.queue, runner)
    finally:
        if runner is not None and task is not None:
            runner.stop()
            await asyncio.wait_for(task, 30)
        await container.store.close()
        container.close()
