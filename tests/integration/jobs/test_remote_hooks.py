"""Engine support for paid remote work: checkpoints, cancel hooks, infrastructure retries.

The ``diagnostic.remote`` kind stands in for a provider call: it records its remote id
with ``ctx.checkpoint`` before waiting, and its cancel hook records that it cancelled
the remote work, so these tests see what a provider would see.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from castsmith.domain.jobs import RetryPolicy
from castsmith.jobs.worker import Worker
from tests.integration.jobs.helpers import (
    FAST,
    job_status,
    queue_for,
    registry,
    running,
    start_worker_process,
    stop_processes,
    until,
    worker_log,
)

REMOTE = "diagnostic.remote"


async def test_cancelling_a_running_job_stops_it_at_once_and_runs_its_cancel_hook(
    database_url: str,
) -> None:
    reg = registry()
    queue = queue_for(database_url, reg)
    # Heartbeats every minute: only the prompt path can stop the handler in time.
    slow_beat = FAST | {"heartbeat_interval": 60.0}
    job = queue.enqueue(REMOTE, {"seconds": 120})
    async with running(Worker(queue, reg, concurrency=2, **slow_beat)):
        await until(lambda: "remote_id" in (queue.checkpoint_of(job.id) or {}))
        # On PostgreSQL the cancel comes from another process's queue (the API's, say):
        # it reaches the worker by NOTIFY. On SQLite it is this process's queue.
        canceller = queue_for(database_url) if queue.is_postgres else queue
        await asyncio.to_thread(canceller.cancel, job.id)
        await until(job_status(queue, job.id), deadline=10)
    done = queue.get(job.id)
    assert done.status == "cancelled"
    assert queue.checkpoint_of(job.id) == {
        "remote_id": f"diag-{job.id}-1",
        "submitted_on_attempt": 1,
        "remote_cancelled": "cancelled",
    }
    assert [run.outcome for run in queue.runs(job.id)] == ["cancelled"]


async def test_a_timed_out_attempt_cancels_its_remote_work_and_the_retry_resumes(
    database_url: str,
) -> None:
    reg = registry()
    queue = queue_for(database_url, reg)
    job = queue.enqueue(REMOTE, {"seconds": 30}, timeout_seconds=0.5, max_attempts=2)
    async with running(Worker(queue, reg, concurrency=1, **FAST)):
        await until(job_status(queue, job.id))
    failed = queue.get(job.id)
    assert failed.status == "failed" and failed.error == "timed out after 0.5 s"
    assert [run.outcome for run in queue.runs(job.id)] == ["timed_out", "timed_out"]
    checkpoint = queue.checkpoint_of(job.id)
    # Submitted once: the second attempt found the first one's remote id.
    assert checkpoint == {
        "remote_id": f"diag-{job.id}-1",
        "submitted_on_attempt": 1,
        "remote_cancelled": "timeout",
    }
    # A retry asked for by a user starts clean.
    assert queue.retry(job.id).status == "queued"
    assert queue.checkpoint_of(job.id) is None


async def test_a_worker_shutting_down_after_its_grace_runs_the_hook_and_hands_the_job_back(
    database_url: str,
) -> None:
    reg = registry()
    queue = queue_for(database_url, reg)
    job = queue.enqueue(REMOTE, {"seconds": 120})
    worker = Worker(queue, reg, concurrency=1, **(FAST | {"shutdown_grace": 0.2}))
    async with running(worker):
        await until(lambda: "remote_id" in (queue.checkpoint_of(job.id) or {}))
    again = queue.get(job.id)
    assert again.status == "queued" and again.attempts == 0
    assert (queue.checkpoint_of(job.id) or {})["remote_cancelled"] == "shutdown"
    assert [run.outcome for run in queue.runs(job.id)] == ["lost"]


async def test_infrastructure_errors_retry_on_their_own_schedule_beyond_the_job_limit(
    database_url: str,
) -> None:
    reg = registry()
    queue = queue_for(database_url, reg)
    policy = RetryPolicy(base=60.0, cap=60.0, infra_base=0.01, infra_cap=0.05, infra_attempts=4)
    worker = Worker(queue, reg, concurrency=1, **(FAST | {"retry_policy": policy}))
    # One attempt allowed, and a provider backoff of a minute: only the infrastructure
    # schedule lets this job finish within the test.
    ok = queue.enqueue(REMOTE, {"infra_fail_times": 3}, max_attempts=1)
    doomed = queue.enqueue(REMOTE, {"infra_fail_times": 9}, max_attempts=1)
    async with running(worker):
        await until(job_status(queue, ok.id))
        await until(job_status(queue, doomed.id))
    done = queue.get(ok.id)
    assert done.status == "completed"
    assert done.result == {
        "remote_id": f"diag-{ok.id}-1",
        "submitted_on_attempt": 1,
        "attempt": 4,
        "resumed": True,
    }
    assert [r.outcome for r in queue.runs(ok.id)] == ["retrying"] * 3 + ["succeeded"]
    failed = queue.get(doomed.id)
    assert failed.status == "failed"
    assert failed.error == "diagnostic: storage unreachable on attempt 4 of 9"


def test_a_checkpoint_from_an_attempt_that_lost_its_job_is_refused(database_url: str) -> None:
    queue = queue_for(database_url, registry())
    job = queue.enqueue(REMOTE, {})
    [claimed] = queue.claim("w1", 1)
    assert queue.save_checkpoint(job.id, "w1", claimed.attempt, {"remote_id": "r1"})
    assert not queue.save_checkpoint(job.id, "w2", claimed.attempt, {"remote_id": "r2"})
    assert not queue.save_checkpoint(job.id, "w1", claimed.attempt + 1, {"remote_id": "r3"})
    assert queue.checkpoint_of(job.id) == {"remote_id": "r1"}


@pytest.mark.slow
async def test_a_killed_workers_retry_resumes_from_the_checkpoint(
    database_url: str, tmp_path: Path
) -> None:
    queue = queue_for(database_url, registry())
    env = {"CASTSMITH_JOB_LEASE_SECONDS": "2"}
    job = queue.enqueue(REMOTE, {"seconds": 4})
    first = start_worker_process(database_url, tmp_path, concurrency=1, env=env)
    try:
        await until(lambda: "remote_id" in (queue.checkpoint_of(job.id) or {}), deadline=120)
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = start_worker_process(database_url, tmp_path, concurrency=1, env=env)
        try:
            await until(lambda: queue.get(job.id).status == "completed", deadline=120)
        finally:
            stop_processes([second])
        assert "Traceback" not in worker_log(second)
    finally:
        stop_processes([first])
    done = queue.get(job.id)
    assert done.result == {
        "remote_id": f"diag-{job.id}-1",
        "submitted_on_attempt": 1,
        "attempt": 2,
        "resumed": True,
    }
    assert [run.outcome for run in queue.runs(job.id)] == ["lost", "succeeded"]
