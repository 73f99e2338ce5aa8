"""A RunPod poster whose handler is stopped before it ends, on SQLite and PostgreSQL.

A worker's shutdown leaves the remote job running and the next worker follows it (one
submission, nothing cancelled); a timed-out attempt cancels its remote job and the
retry submits a new one instead of following the cancelled job into a permanent
failure.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from castsmith.config import Settings
from castsmith.domain.jobs import RetryPolicy
from castsmith.jobs.types import JobSpec
from castsmith.jobs.worker import Worker
from castsmith.pipelines.posters import KIND_GENERATE
from tests.fakes import FakeRunPod
from tests.harness import WORKER_DEFAULTS, AppEnv, running_app, wait_job
from tests.integration.jobs.helpers import until
from tests.integration.pipelines.test_posters_pay_once import settings_for, status_polls

pytestmark = pytest.mark.slow


def start_worker(env: AppEnv, **options: float) -> tuple[Worker, asyncio.Task[None]]:
    """A worker in this event loop on the app's container."""
    worker = Worker(
        env.queue,
        env.container.registry,
        services=env.container,
        **{**WORKER_DEFAULTS, **options},
    )
    return worker, asyncio.create_task(worker.run())


async def ledger(env: AppEnv, job_id: int) -> list[dict[str, Any]]:
    """The job's line in the cost ledger, as ``GET /api/costs?by=job`` shows it."""
    answer = await env.client.get(f"/api/costs?by=job&job_id={job_id}")
    rows: list[dict[str, Any]] = answer.json()["rows"]
    return rows


async def poster_versions(env: AppEnv, actor_id: int) -> list[int]:
    items = (await env.client.get(f"/api/actors/{actor_id}/poster-frames")).json()["items"]
    return [int(item["version"]) for item in items]


async def test_a_stopped_worker_leaves_the_remote_job_running_and_the_next_one_resumes_it(
    database_url: str, tmp_path: Path
) -> None:
    with FakeRunPod(polls_before_done=10_000) as fake:
        settings = settings_for(Settings(data_dir=tmp_path), fake, database_url)
        async with running_app(settings, worker=False) as env:
            actor_id = await env.create_actor()
            answer = await env.client.post(f"/api/actors/{actor_id}/regenerate-poster-frame")
            job_id = int(answer.json()["job_id"])
            first, task = start_worker(env, shutdown_grace=0.2)
            await until(lambda: status_polls(fake) >= 2, 30)
            (remote_id,) = list(fake.jobs)
            first.stop()  # the grace period runs out while the poster is still drawing
            await asyncio.wait_for(task, 30)
            assert fake.jobs[remote_id]["status"] == "IN_PROGRESS"
            assert (await env.client.get(f"/api/jobs/{job_id}")).json()["status"] != "cancelled"

            fake.jobs[remote_id]["polls_left"] = 1  # the remote job is about to finish
            second, task = start_worker(env)
            try:
                done = await wait_job(env.container, job_id, 60)
            finally:
                second.stop()
                await asyncio.wait_for(task, 30)
            versions = await poster_versions(env, actor_id)
            calls = await ledger(env, job_id)
    assert done.status == "completed", done.error
    assert versions == [1]
    # Recorded once, by the attempt that saw it end, at RunPod's execution time.
    assert [(c["succeeded"], c["failed"], c["cancelled"]) for c in calls] == [(1, 0, 0)]
    assert calls[0]["seconds"] == 2.3
    # Paid once: one submission, followed to its end, never cancelled.
    assert len(fake.calls_to(f"/v2/{fake.endpoint_id}/run")) == 1
    assert fake.jobs[remote_id]["status"] == "COMPLETED"
    assert fake.calls_to(f"/v2/{fake.endpoint_id}/cancel/") == []


async def test_a_timed_out_attempt_cancels_its_remote_job_and_the_retry_submits_anew(
    database_url: str, tmp_path: Path
) -> None:
    with FakeRunPod(polls_before_done=10_000) as fake:
        settings = settings_for(Settings(data_dir=tmp_path), fake, database_url)
        quick = RetryPolicy(base=0.1, cap=0.2)
        async with running_app(settings, retry_policy=quick) as env:
            actor_id = await env.create_actor()
            spec = JobSpec(
                kind=KIND_GENERATE,
                payload={"actor_id": actor_id, "overrides": {}},
                timeout_seconds=3.0,
                max_attempts=3,
            )
            (job,) = await asyncio.to_thread(env.queue.enqueue_many, [spec])
            await until(lambda: len(fake.jobs) == 1, 30)
            (first_remote,) = list(fake.jobs)
            # The retry's remote job finishes quickly.
            fake.polls_before_done = 0
            done = await wait_job(env.container, job.id, 60)
            versions = await poster_versions(env, actor_id)
            calls = await ledger(env, job.id)
    # The timed-out call is charged as failed, the retry's as succeeded.
    assert [(c["calls"], c["succeeded"], c["failed"]) for c in calls] == [(2, 1, 1)]
    assert done.status == "completed", done.error
    assert versions == [1]
    assert done.attempts == 2
    second_remote = next(rid for rid in fake.jobs if rid != first_remote)
    # The timed-out remote job was cancelled, and the retry did not follow it.
    assert fake.jobs[first_remote]["status"] == "CANCELLED"
    assert fake.jobs[second_remote]["status"] == "COMPLETED"
    assert [c.path for c in fake.calls_to(f"/v2/{fake.endpoint_id}/cancel/")] == [
        f"/v2/{fake.endpoint_id}/cancel/{first_remote}"
    ]
    assert len(fake.calls_to(f"/v2/{fake.endpoint_id}/run")) == 2
