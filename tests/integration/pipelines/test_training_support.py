"""Shared helpers for the training data tests (no tests of its own).

``training_services`` builds the real container for some settings and can run an
in-process worker for its lifetime.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from PIL import Image

from castsmith.bootstrap import Container, build_container
from castsmith.config import Settings
from castsmith.db.models import Actor
from castsmith.jobs.worker import Worker
from castsmith.pipelines.actors import set_base_image

SEED_ENTRY_FIELDS = (
    "filename",
    "s3_url",
    "md5_hash",
    "size_bytes",
    "size_mb",
    "modified_timestamp",
    "modified_date",
    "status",
)


def png_bytes(color: tuple[int, int, int] = (200, 120, 40), size: int = 64) -> bytes:
    """A small solid PNG, used as a base image."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


@asynccontextmanager
async def training_services(
    settings: Settings, *, worker: bool = False, concurrency: int = 8
) -> AsyncIterator[Container]:
    """The real container for ``settings``; optionally with a running in-process worker."""
    container = build_container(settings)
    task: asyncio.Task[None] | None = None
    runner: Worker | None = None
    if worker:
        runner = Worker(
            container.queue,
            container.registry,
            services=container,
            concurrency=concurrency,
            poll_interval=0.05,
            heartbeat_interval=0.5,
            shutdown_grace=2.0,
        )
        task = asyncio.create_task(runner.run())
    try:
        yield container
    finally:
        if runner is not None and task is not None:
            runner.stop()
            await asyncio.wait_for(task, 15)
        container.close()


def add_actor(
    container: Container,
    name: str = "0012_european_30_male",
    sex: str = "male",
    trigger: str | None = "zx12man",
) -> int:
    """Insert an actor row and return its id."""
    with container.sessions.begin() as session:
        actor = Actor(name=name, actor_type="person", sex=sex, lora_trigger_word=trigger)
        session.add(actor)
        session.flush()
        return actor.id


async def actor_with_base(container: Container, name: str = "0012_european_30_male") -> int:
    """An actor with a small base image."""
    actor_id = add_actor(container, name)
    await set_base_image(container, actor_id, png_bytes())  # type: ignore[arg-type]
    return actor_id


async def wait_job(container: Container, job_id: int, timeout: float = 60) -> Any:
    """Poll the queue until the job ends; return its view."""
    queue = container.queue
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        job = await asyncio.to_thread(queue.get, job_id)
        if job.status in {"completed", "completed_with_errors", "failed", "cancelled"}:
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} still {job.status} after {timeout} s")
        await asyncio.sleep(0.05)
