"""PostgreSQL restarts while two worker processes run a batch: no job lost or run twice.

The restart happens on a private cluster (see :mod:`private_pg`), never on the shared
server other tests use.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from castsmith.db.engine import make_engine
from castsmith.db.migrate import upgrade
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.sql import RUNS
from castsmith.jobs.types import JobSpec
from tests.integration.faults.private_pg import private_cluster
from tests.integration.faults.processes import log_tail, start_worker
from tests.integration.jobs.helpers import registry, stop_processes, until

pytestmark = pytest.mark.slow

JOBS = 200


async def test_workers_survive_a_postgres_restart(tmp_path: Path) -> None:
    with private_cluster() as cluster:
        url = cluster.create_database("castsmith")
        engine = make_engine(url)
        upgrade(engine)
        queue = JobQueue(engine, registry=registry())
        jobs = queue.enqueue_many([JobSpec("diagnostic.sleep", {"seconds": 0.05})] * JOBS)
        # A lease longer than the outage: a worker that only lost its connection for
        # a moment keeps its jobs (taking them over would run them twice).
        env = {"CASTSMITH_JOB_LEASE_SECONDS": "15"}
        names = ["worker-a", "worker-b"]
        workers = [start_worker(url, tmp_path, name, 2, env) for name in names]
        try:
            await until(lambda: _completed(queue) >= JOBS // 4, deadline=30)
            engine.dispose()
            await asyncio.to_thread(cluster.stop, "fast")
            await asyncio.sleep(2)
            await asyncio.to_thread(cluster.start)
            restarted_at = time.monotonic()
            before = _completed(queue)
            assert before < JOBS, "the batch ended before the restart; it proves nothing"
            try:
                await until(lambda: _completed(queue) == JOBS, deadline=30)
            except AssertionError:
                logs = "\n".join(log_tail(tmp_path, name) for name in names)
                raise AssertionError(
                    f"jobs left after the restart: {queue.stats()}\n{logs}"
                ) from None
            recovery = time.monotonic() - restarted_at
            assert all(p.poll() is None for p in workers), "a worker died with the database"
        finally:
            stop_processes(workers)
        with engine.connect() as conn:
            per_job: dict[int, int] = dict(
                conn.execute(
                    select(RUNS.c.job_id, func.count())
                    .where(RUNS.c.outcome == "succeeded")
                    .group_by(RUNS.c.job_id)
                ).all()
            )
            outcomes: dict[str, int] = dict(
                conn.execute(select(RUNS.c.outcome, func.count()).group_by(RUNS.c.outcome)).all()
            )
        engine.dispose()
    assert sorted(per_job) == sorted(job.id for job in jobs)
    assert set(per_job.values()) == {1}, "a job succeeded more than once"
    print(f"{JOBS - before} jobs done {recovery:.1f} s after the restart; runs: {outcomes}")
    assert outcomes.get("lost", 0) == 0, f"a run was taken over: {outcomes}"


def _completed(queue: JobQueue) -> int:
    return int(queue.stats()["jobs_by_status"].get("completed", 0))
