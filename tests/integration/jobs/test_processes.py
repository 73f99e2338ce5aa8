"""Worker processes sharing one database: exactly-once, lost leases, cluster-wide caps."""

from __future__ import annotations

import json
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from castsmith.jobs.sql import RUNS
from castsmith.jobs.types import JobSpec
from tests.integration.jobs.helpers import (
    queue_for,
    registry,
    start_worker_process,
    stop_processes,
    until,
    until_started,
    worker_log,
)

pytestmark = pytest.mark.slow


async def test_four_processes_run_a_thousand_jobs_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    queue = queue_for(database_url, registry())
    workers = [start_worker_process(database_url, tmp_path) for _ in range(4)]
    try:
        # All four compete for the jobs only if none could drain them while the
        # others were still starting.
        await until_started(workers)
        queue.enqueue_many([JobSpec("diagnostic.sleep", {"seconds": 0})] * 1000)
        await until(lambda: queue.stats()["jobs_by_status"].get("completed") == 1000, deadline=120)
    finally:
        stop_processes(workers)
    with queue.engine.connect() as conn:
        per_job = conn.execute(
            select(RUNS.c.job_id, func.count())
            .where(RUNS.c.outcome == "succeeded")
            .group_by(RUNS.c.job_id)
        ).all()
        workers_used = conn.execute(select(func.count(func.distinct(RUNS.c.worker_id)))).scalar()
    assert len(per_job) == 1000
    assert {count for _, count in per_job} == {1}
    assert workers_used and workers_used > 1
    for proc in workers:
        assert proc.returncode == 0
        assert "Traceback" not in worker_log(proc)


async def test_a_killed_workers_job_finishes_elsewhere(database_url: str, tmp_path: Path) -> None:
    queue = queue_for(database_url, registry())
    env = {"CASTSMITH_JOB_LEASE_SECONDS": "2"}
    first = start_worker_process(database_url, tmp_path, concurrency=1, env=env)
    job = queue.enqueue("diagnostic.sleep", {"seconds": 1.5})
    try:
        await until(lambda: queue.get(job.id).status == "running")
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = start_worker_process(database_url, tmp_path, concurrency=1, env=env)
        try:
            await until(lambda: queue.get(job.id).status == "completed", deadline=60)
        finally:
            stop_processes([second])
    finally:
        stop_processes([first])
    outcomes = sorted(run.outcome for run in queue.runs(job.id))
    assert outcomes == ["lost", "succeeded"]
    runs = queue.runs(job.id)
    assert runs[0].worker_id != runs[1].worker_id


async def test_provider_cap_holds_across_processes(database_url: str, tmp_path: Path) -> None:
    cap = 2
    limits = json.dumps({"capped": {"concurrency": cap}})
    queue = queue_for(database_url, registry())
    jobs = queue.enqueue_many(
        [JobSpec("diagnostic.sleep", {"seconds": 0.1}, provider="capped")] * 24
        + [JobSpec("diagnostic.sleep", {"seconds": 0.1})] * 8
    )
    env = {"CASTSMITH_PROVIDER_LIMITS": limits}
    workers = [start_worker_process(database_url, tmp_path, 4, env) for _ in range(2)]
    try:
        await until(
            lambda: queue.stats()["jobs_by_status"].get("completed") == len(jobs), deadline=120
        )
    finally:
        stop_processes(workers)
    intervals = []
    with queue.engine.connect() as conn:
        rows = conn.execute(
            select(RUNS.c.started_at, RUNS.c.finished_at).where(RUNS.c.provider == "capped")
        ).all()
    for started, finished in rows:
        intervals.append((started, 1))
        intervals.append((finished, -1))
    # Ends sort before starts at the same instant: a slot freed and retaken at once.
    intervals.sort(key=lambda item: (item[0], item[1]))
    running = peak = 0
    for _, delta in intervals:
        running += delta
        peak = max(peak, running)
    assert len(rows) == 24
    assert peak == cap
    assert all(f - s >= timedelta(seconds=0.1) for s, f in rows)
