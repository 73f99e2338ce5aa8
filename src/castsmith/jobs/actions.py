"""What users do to jobs: cancel one (with its unfinished children), retry one.

:class:`~castsmith.jobs.queue.JobQueue` inherits these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, select, update

from castsmith.domain import jobs as rules
from castsmith.domain.errors import Conflict, NotFound
from castsmith.jobs.family import cancel_one, cancel_tree, roll_up
from castsmith.jobs.sql import JOBS, JOBS_CHANNEL, Clock, add_events, event_row, notify
from castsmith.jobs.types import JobView

T = TypeVar("T")


class UserActions:
    """Cancel and retry (needs the attributes declared below)."""

    engine: Engine
    clock: Clock
    _cancel_listeners: list[Callable[[list[int]], None]]

    def _write(self, work: Callable[[Connection], T], *, new_work: bool = False) -> T:
        raise NotImplementedError

    def get(self, job_id: int) -> JobView:
        """One job; :class:`NotFound` when the id is unknown."""
        raise NotImplementedError

    def cancel(self, job_id: int) -> JobView:
        """Cancel a job and its unfinished children.

        Queued and waiting jobs end at once; a running job gets ``cancel_requested``
        and its worker stops the handler at once (this process's workers directly,
        others by NOTIFY on PostgreSQL), at the latest at its next heartbeat.
        """
        now = self.clock()

        def work(conn: Connection) -> list[int]:
            row = conn.execute(select(JOBS).where(JOBS.c.id == job_id).with_for_update()).first()
            if row is None:
                raise NotFound(f"job {job_id} not found")
            if row.status == rules.CANCELLED:
                return []
            if row.status in rules.TERMINAL_STATUSES:
                raise Conflict(f"job {job_id} already ended ({row.status}); nothing to cancel")
            add_events(conn, cancel_one(conn, row, now))
            flagged = cancel_tree(conn, job_id, now)
            if row.status != rules.RUNNING and row.parent_id is not None:
                roll_up(conn, {row.parent_id}, now)
            return [job_id, *flagged] if row.status == rules.RUNNING else flagged

        running = self._write(work)
        # Workers of this process stop those handlers now; others hear it by NOTIFY
        # (PostgreSQL) or at their next heartbeat (SQLite).
        for callback in self._cancel_listeners:
            callback(running)
        return self.get(job_id)

    def retry(self, job_id: int) -> JobView:
        """Put a failed or cancelled job back in the queue with its attempts reset."""
        now = self.clock()

        def work(conn: Connection) -> JobView:
            row = conn.execute(select(JOBS).where(JOBS.c.id == job_id).with_for_update()).first()
            if row is None:
                raise NotFound(f"job {job_id} not found")
            if row.status not in rules.RETRYABLE_BY_USER:
                raise Conflict(
                    f"job {job_id} is {row.status}; only failed or cancelled jobs can be retried"
                )
            if row.idempotency_key:
                clash = conn.execute(
                    select(JOBS.c.id).where(
                        JOBS.c.idempotency_key == row.idempotency_key,
                        JOBS.c.status.in_([rules.QUEUED, rules.RUNNING]),
                    )
                ).first()
                if clash is not None:
                    raise Conflict(f"job {clash.id} with the same idempotency key is active")
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id)
                .values(
                    status=rules.require_transition(row.status, rules.QUEUED),
                    attempts=0,
                    error=None,
                    result=None,
                    error_log=[],
                    progress=0.0,
                    progress_message=None,
                    cancel_requested=False,
                    run_after=now,
                    finished_at=None,
                    worker_id=None,
                    lease_until=None,
                    stage="run",
                    finalizer=False,
                    # A retry asked for by a user starts over: the remote work an
                    # earlier attempt recorded ended badly or was cancelled.
                    checkpoint=None,
                    updated_at=now,
                )
            )
            add_events(
                conn, [event_row(row, rules.QUEUED, now, progress=0.0, message="retry requested")]
            )
            notify(conn, JOBS_CHANNEL, row.queue)
            # The job as this transaction left it: a worker may claim it the moment it
            # commits, and the caller asked about the retry, not about what came next.
            return JobView.from_row(conn.execute(select(JOBS).where(JOBS.c.id == job_id)).one())

        return self._write(work, new_work=True)
