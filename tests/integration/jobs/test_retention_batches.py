"""Retention walks deep trees and long runs of old rows across many small batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, insert, select, update

from castsmith.jobs.queue import JobQueue
from castsmith.jobs.retention import Retention, RetentionPolicy
from castsmith.jobs.sql import EVENTS, JOBS, RUNS, in_write_tx
from castsmith.jobs.types import JobSpec
from tests.integration.jobs.helpers import queue_for

DAY = timedelta(days=1)
POLICY = RetentionPolicy(jobs=30 * DAY, failed_jobs=90 * DAY, runs=30 * DAY, events=7 * DAY)
SLEEP = JobSpec("diagnostic.sleep")


def ended(queue: JobQueue, ids: list[int], status: str, days_ago: int) -> None:
    """Mark ``ids`` as ended ``days_ago`` with ``status`` (as if they ran back then)."""
    at = datetime.now(UTC) - days_ago * DAY
    in_write_tx(
        queue.engine,
        lambda conn: conn.execute(
            update(JOBS).where(JOBS.c.id.in_(ids)).values(status=status, finished_at=at)
        ),
    )


def rows(queue: JobQueue, table: object, job_ids: list[int]) -> int:
    column = JOBS.c.id if table is JOBS else table.c.job_id  # type: ignore[attr-defined]
    with queue.engine.connect() as conn:
        query = select(func.count()).select_from(table).where(column.in_(job_ids))  # type: ignore[arg-type]
        return int(conn.execute(query).scalar() or 0)


def chain(queue: JobQueue) -> list[int]:
    """A root, its child and its grandchild."""
    root = queue.enqueue_many([SLEEP])[0]
    child = queue.spawn(root.id, [SLEEP])[0]
    grandchild = queue.spawn(child.id, [SLEEP])[0]
    return [root.id, child.id, grandchild.id]


def test_three_level_trees_go_whole_or_stay_whole(database_url: str) -> None:
    queue = queue_for(database_url)
    old = chain(queue)
    busy = chain(queue)
    ended(queue, old, "completed", 40)
    # The grandchild still waits: its ended root and child must stay with it.
    ended(queue, busy[:2], "completed", 40)
    report = Retention(queue.engine, RetentionPolicy(**{**POLICY.__dict__, "batch_size": 1}))
    done = report.prune()
    assert rows(queue, JOBS, old) == 0
    assert rows(queue, EVENTS, old) == 0
    assert rows(queue, JOBS, busy) == 3
    assert (done.jobs, done.kept_active_trees) == (3, 1)


def test_old_runs_and_events_go_in_batches_past_kept_and_same_time_rows(
    database_url: str,
) -> None:
    queue = queue_for(database_url)
    kept_failed = queue.enqueue_many([SLEEP])[0].id  # failed 40 days ago: kept 90
    waiting = chain(queue)  # an old root kept because its grandchild waits
    ended(queue, [kept_failed], "failed", 40)
    ended(queue, waiting[:2], "completed", 40)
    long_ago = datetime.now(UTC) - 40 * DAY
    # Seven events at the very same time (more than a batch), and old runs of both.

    def old_rows(conn: Connection) -> None:
        for job_id in (kept_failed, waiting[0]):
            conn.execute(
                insert(EVENTS),
                [
                    {"job_id": job_id, "kind": "diagnostic.sleep", "event": "progress"}
                    | {"status": "running", "progress": 50.0, "created_at": long_ago}
                ]
                * 7,
            )
            conn.execute(
                insert(RUNS),
                [
                    {"job_id": job_id, "attempt": n, "worker_id": "w", "outcome": "failed"}
                    | {"started_at": long_ago, "finished_at": long_ago}
                    for n in range(1, 6)
                ],
            )

    in_write_tx(queue.engine, old_rows)
    recent_events = rows(queue, EVENTS, [kept_failed, *waiting]) - 14
    retention = Retention(queue.engine, RetentionPolicy(**{**POLICY.__dict__, "batch_size": 2}))
    report = retention.prune()
    # Every old event went, also those sharing one time across batches; new ones stay.
    assert rows(queue, EVENTS, [kept_failed, *waiting]) == recent_events
    assert report.events == 14
    # The failed job keeps its runs while it is kept; the completed root's old runs go.
    assert rows(queue, RUNS, [kept_failed]) == 5
    assert rows(queue, RUNS, waiting) == 0
    assert report.runs == 5
    assert rows(queue, JOBS, [kept_failed, *waiting]) == 4
