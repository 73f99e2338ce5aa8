"""The S3 server stops in the middle of a batch: jobs retry and all complete once it is back."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from castsmith.config import Settings
from castsmith.db.models import Asset, JobRun
from castsmith.domain.jobs import RetryPolicy
from castsmith.jobs.registry import JobContext
from castsmith.jobs.worker import Worker
from castsmith.pipelines._writer import store_asset
from tests.conftest import S3Server
from tests.harness import operator_container

KIND = "faults.store_one"


async def _store_one(ctx: JobContext) -> dict[str, Any]:
    key = f"faults/batch/{ctx.payload['n']}.bin"
    asset = await store_asset(ctx.services, key, b"x" * 64, is_image=False)
    return {"asset_id": asset.id}


async def test_jobs_survive_an_s3_outage(
    s3_server: S3Server, s3_settings: Settings, pg_database_url: str
) -> None:
    settings = s3_settings.model_copy(update={"database_url": pg_database_url})
    container = operator_container(settings)
    container.registry.register(KIND, _store_one, max_attempts=20)
    worker = Worker(
        container.queue,
        container.registry,
        services=container,
        concurrency=4,
        poll_interval=0.05,
        heartbeat_interval=0.5,
        shutdown_grace=2.0,
        retry_policy=RetryPolicy(0.1, 0.5),
    )
    task = asyncio.create_task(worker.run())
    try:
        first = [container.queue.enqueue(KIND, {"n": n}) for n in range(5)]
        await _until(lambda: _done(container, [j.id for j in first]))
        s3_server.stop()
        rest = [container.queue.enqueue(KIND, {"n": n}) for n in range(5, 20)]
        await _until(lambda: _retrying(container) >= 3)
        s3_server.start()
        ids = [j.id for j in first + rest]
        await _until(lambda: _done(container, ids), 60)
    finally:
        if s3_server._server is None:
            s3_server.start()
        worker.stop()
        await asyncio.wait_for(task, 15)
    views = [container.queue.get(i) for i in ids]
    assert {v.status for v in views} == {"completed"}
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Asset)) == 20
        succeeded = session.scalar(
            select(func.count()).select_from(JobRun).where(JobRun.outcome == "succeeded")
        )
    assert succeeded == 20  # each job finished exactly once
    keys = {meta.key async for meta in container.store.list("faults/batch")}
    assert len(keys) == 20
    container.close()


def _done(container: Any, ids: list[int]) -> bool:
    return all(container.queue.get(i).status == "completed" for i in ids)


def _retrying(container: Any) -> int:
    with container.sessions() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(JobRun).where(JobRun.outcome == "retrying")
            )
            or 0
        )


async def _until(check: Any, seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while not await asyncio.to_thread(check):
            await asyncio.sleep(0.1)
