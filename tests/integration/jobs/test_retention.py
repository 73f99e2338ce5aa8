"""Retention on SQLite and PostgreSQL: old trees go, recent and still-needed work stays."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner

from castsmith.cli import app
from castsmith.config import Settings
from castsmith.db.models import PersonaTask
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import HandlerRegistry
from castsmith.jobs.retention import Retention, RetentionPolicy
from castsmith.jobs.runner import make_worker
from castsmith.jobs.sql import EVENTS, JOBS, RUNS, in_write_tx
from castsmith.jobs.types import JobSpec
from castsmith.jobs.worker import Worker
from tests.integration.jobs.helpers import FAST, job_status, queue_for, registry, running, until

DAY = timedelta(days=1)
POLICY = RetentionPolicy(jobs=30 * DAY, failed_jobs=90 * DAY, runs=30 * DAY, events=7 * DAY)


class ShiftedClock:
    """Real time moved back by ``shift``: jobs run now but are recorded as long ago."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) - self.shift


async def run_jobs(queue: JobQueue, reg: HandlerRegistry, specs: list[JobSpec]) -> list[int]:
    """Enqueue ``specs`` and run them all to their end with an in-process worker."""
    jobs = queue.enqueue_many(specs)
    async with running(Worker(queue, reg, concurrency=8, **FAST)):
        for job in jobs:
            await until(job_status(queue, job.id))
    return [job.id for job in jobs]


def counts(queue: JobQueue, job_ids: list[int]) -> dict[str, int]:
    """How many job, run and event rows exist for ``job_ids``."""
    with queue.engine.connect() as conn:
        return {
            name: int(
                conn.execute(
                    select(func.count()).select_from(table).where(column.in_(job_ids))
                ).scalar()
                or 0
            )
            for name, table, column in (
                ("jobs", JOBS, JOBS.c.id),
                ("runs", RUNS, RUNS.c.job_id),
                ("events", EVENTS, EVENTS.c.job_id),
            )
        }


async def build_history(
    database_url: str,
) -> tuple[JobQueue, dict[str, list[int]]]:
    """Jobs that ended 100, 40 and 0 days ago, a tree, and a tree still active."""
    reg = registry()
    clock = ShiftedClock()
    queue = queue_for(database_url, reg, clock=clock)
    made: dict[str, list[int]] = {}
    ok = JobSpec("diagnostic.sleep")
    doomed = JobSpec("diagnostic.sleep", {"fail_times": 9}, max_attempts=1)
    for age, label in ((100, "old"), (40, "month"), (0, "new")):
        clock.shift = age * DAY
        made[f"{label}_ok"] = await run_jobs(queue, reg, [ok, ok])
        made[f"{label}_failed"] = await run_jobs(queue, reg, [doomed])
    clock.shift = 100 * DAY
    parent = queue.enqueue("diagnostic.sleep")
    children = queue.spawn(parent.id, [ok, ok])
    made["old_tree"] = [parent.id, *(c.id for c in children)]
    async with running(Worker(queue, reg, concurrency=8, **FAST)):
        for job_id in made["old_tree"]:
            await until(job_status(queue, job_id))
    # Ended long ago, but a child was added later and still waits: the tree must stay.
    busy = queue.enqueue("diagnostic.sleep")
    queue.cancel(busy.id)
    clock.shift = timedelta(0)
    waiting = queue.spawn(busy.id, [ok])
    made["active_tree"] = [busy.id, waiting[0].id]
    return queue, made


async def test_prune_deletes_old_trees_and_keeps_recent_failed_and_active(
    database_url: str,
) -> None:
    queue, made = await build_history(database_url)
    # A persona task links to an old job: the task stays, its link is cleared.
    in_write_tx(
        queue.engine,
        lambda conn: conn.execute(
            PersonaTask.__table__.insert().values(
                task_id="t-1", count=1, job_id=made["old_ok"][0], created_at=datetime.now(UTC)
            )
        ),
    )
    before = {name: counts(queue, ids) for name, ids in made.items()}
    retention = Retention(queue.engine, RetentionPolicy(**{**POLICY.__dict__, "batch_size": 2}))
    planned = retention.prune(dry_run=True)
    assert counts(queue, made["old_ok"]) == before["old_ok"]  # a dry run deletes nothing

    report = retention.prune()

    assert (report.jobs, report.runs, report.events) == (
        planned.jobs,
        planned.runs,
        planned.events,
    )
    gone = {"jobs": 0, "runs": 0, "events": 0}
    for name in ("old_ok", "old_failed", "month_ok", "old_tree"):
        assert counts(queue, made[name]) == gone, name
    # A failed job younger than 90 days stays with its attempts; its week-old events go.
    assert counts(queue, made["month_failed"]) == {"jobs": 1, "runs": 1, "events": 0}
    for name in ("new_ok", "new_failed"):
        assert counts(queue, made[name]) == before[name], name
    # Kept as a tree while its child waits (only its 100-day-old events went).
    assert counts(queue, made["active_tree"])["jobs"] == 2
    assert report.kept_active_trees == 1
    assert report.jobs == 2 + 1 + 2 + 3
    assert report.batches > 4  # small batches, each its own transaction
    with queue.engine.connect() as conn:
        task = conn.execute(select(PersonaTask.__table__)).one()
    assert task.job_id is None and task.task_id == "t-1"
    assert retention.prune().jobs == 0


async def test_claims_go_on_while_a_prune_pass_runs(database_url: str) -> None:
    queue, made = await build_history(database_url)
    other = queue_for(database_url, registry())
    fresh = other.enqueue_many([JobSpec("diagnostic.sleep")] * 20)
    claimed: list[int] = []

    def claim_between(_report: Any) -> None:
        # Runs between two batches of the pass: the claim must not wait for the pass.
        claimed.extend(job.id for job in other.claim("w-between", 1))

    retention = Retention(queue.engine, RetentionPolicy(**{**POLICY.__dict__, "batch_size": 1}))
    report = retention.prune(on_batch=claim_between)
    assert report.jobs == 8
    assert len(claimed) == min(report.batches, 20)
    assert set(claimed) <= {job.id for job in fresh} | set(made["active_tree"])


async def test_a_claim_does_not_wait_for_an_open_batch_on_postgres(
    pg_database_url: str,
) -> None:
    queue, made = await build_history(pg_database_url)
    other = queue_for(pg_database_url, registry())
    fresh = other.enqueue("diagnostic.sleep")
    retention = Retention(queue.engine, POLICY)
    cutoff = datetime.now(UTC) - POLICY.jobs
    release = threading.Event()
    deleted: list[int] = []

    def hold_batch() -> None:
        with queue.engine.begin() as conn:
            roots = retention.candidate_roots(conn, "completed", cutoff, 0)
            deleted.append(retention.delete_trees(conn, roots)[0])
            release.wait(30)

    holder = threading.Thread(target=hold_batch)
    holder.start()
    try:
        await until(lambda: bool(deleted), 10)
        claimed = await asyncio.wait_for(asyncio.to_thread(other.claim, "w-1", 5), 5)
    finally:
        release.set()
        holder.join()
    # Both claimable jobs: the new one and the child still waiting in an old tree.
    assert {job.id for job in claimed} == {fresh.id, made["active_tree"][1]}
    assert deleted[0] >= 5


async def test_the_default_worker_runs_retention(database_url: str, tmp_path: Path) -> None:
    queue, made = await build_history(database_url)
    reg = registry()
    settings = Settings(data_dir=tmp_path, worker_interval=0.05)
    worker = make_worker(queue, reg, settings, concurrency=2)
    assert "jobs.retention" in [task.name for task in worker.periodic]
    async with running(worker):
        await until(lambda: counts(queue, made["old_ok"])["jobs"] == 0)
    assert counts(queue, made["new_ok"])["jobs"] == 2


async def test_cli_prune_dry_run_then_prune(database_url: str, tmp_path: Path) -> None:
    queue, made = await build_history(database_url)
    runner = CliRunner()

    def cli(*args: str) -> str:
        done = runner.invoke(
            app, ["--database-url", database_url, "--data-dir", str(tmp_path), "jobs", *args]
        )
        assert done.exit_code == 0, done.output
        return done.output

    dry = await asyncio.to_thread(cli, "prune", "--dry-run")
    assert dry.startswith("would delete 8 jobs,")
    assert counts(queue, made["old_ok"])["jobs"] == 2
    done = await asyncio.to_thread(cli, "prune")
    assert done.startswith("deleted 8 jobs,")
    assert "kept 1 ended jobs with a job still active below" in done
    assert counts(queue, made["old_ok"])["jobs"] == 0
    again = await asyncio.to_thread(cli, "prune", "--json")
    assert '"jobs": 0' in again
