"""What workers ask of the queue: claim, settle, heartbeat, progress, checkpoints, periodics.

:class:`~castsmith.jobs.queue.JobQueue` inherits these; they live apart from the
enqueue-and-inspect side so each module keeps one job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from castsmith.config import ProviderLimit
from castsmith.domain.errors import NotFound
from castsmith.jobs import claim as claiming
from castsmith.jobs import finish
from castsmith.jobs.outcomes import Outcome
from castsmith.jobs.sql import EVENTS, JOBS, PERIODIC, Clock
from castsmith.jobs.types import ClaimedJob

T = TypeVar("T")
# At most this long between two looks for jobs whose lease ran out (a tenth of the lease
# when that is shorter), so a dead worker's job is taken back soon after its lease ends.
REAP_EVERY = 1.0


class WorkerSide:
    """The worker-facing half of the job queue (needs the attributes declared below)."""

    engine: Engine
    clock: Clock
    lease_seconds: float
    limits: dict[str, ProviderLimit]
    _reap_due: float = 0.0  # when (the queue clock's timestamp) to look for expired leases

    def _write(self, work: Callable[[Connection], T], *, new_work: bool = False) -> T:
        raise NotImplementedError

    @property
    def is_postgres(self) -> bool:
        """Whether the queue lives in PostgreSQL (LISTEN/NOTIFY available)."""
        return self.engine.dialect.name == "postgresql"

    def claim(
        self, worker_id: str, count: int, queues: Sequence[str] | None = None
    ) -> list[ClaimedJob]:
        """Claim up to ``count`` jobs for ``worker_id``."""
        if count <= 0:
            return []
        # Expired leases are looked for at most a few times per lease, not on every
        # claim: a wake-up then starts its job one statement sooner.
        moment = self.clock().timestamp()  # the queue's clock: tests may move it
        reap = moment >= self._reap_due
        if reap:
            self._reap_due = moment + min(REAP_EVERY, self.lease_seconds / 10)
        return self._write(
            lambda conn: claiming.claim(
                conn,
                worker_id,
                count,
                clock=self.clock,
                lease_seconds=self.lease_seconds,
                queues=queues,
                limits=self.limits,
                reap=reap,
            ),
        )

    def finish(self, worker_id: str, outcomes: Sequence[Outcome]) -> list[int]:
        """Record how attempts ended (batched)."""
        if not outcomes:
            return []
        return self._write(
            lambda conn: finish.finish_many(conn, worker_id, outcomes, self.clock()),
        )

    def heartbeat(self, worker_id: str, job_ids: Sequence[int]) -> dict[int, bool]:
        """Renew leases; returns held job ids mapped to their cancel flag."""
        if not job_ids:
            return {}
        now = self.clock()
        return self._write(
            lambda conn: finish.heartbeat(conn, worker_id, job_ids, now, self.lease_seconds),
        )

    def progress(self, job_id: int, worker_id: str, percent: float, message: str | None) -> bool:
        """Store progress of a running job and emit a progress event."""
        now = self.clock()
        return self._write(
            lambda conn: finish.report_progress(conn, job_id, worker_id, percent, message, now),
        )

    def save_checkpoint(
        self, job_id: int, worker_id: str, attempt: int, data: dict[str, Any]
    ) -> bool:
        """Commit a running attempt's checkpoint (see ``JobContext.checkpoint``)."""
        now = self.clock()
        return self._write(
            lambda conn: finish.save_checkpoint(conn, job_id, worker_id, attempt, data, now),
        )

    def checkpoint_of(self, job_id: int) -> dict[str, Any] | None:
        """The checkpoint a job's handler last recorded, or ``None``."""
        with self.engine.connect() as conn:
            row = conn.execute(select(JOBS.c.checkpoint).where(JOBS.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        value: dict[str, Any] | None = row.checkpoint
        return value

    def prune_events(self, older_than: timedelta) -> int:
        """Delete events older than ``older_than``; returns how many went."""
        cutoff = self.clock() - older_than

        def work(conn: Connection) -> int:
            return int(conn.execute(delete(EVENTS).where(EVENTS.c.created_at < cutoff)).rowcount)

        return self._write(work)

    def elect_periodic(self, name: str, period_start: datetime, worker_id: str) -> bool:
        """True for exactly one caller per (name, period_start) across all workers."""
        dialect = postgresql if self.is_postgres else sqlite
        stmt = (
            dialect.insert(PERIODIC)
            .values(
                name=name, period_start=period_start, worker_id=worker_id, started_at=self.clock()
            )
            .on_conflict_do_nothing(index_elements=["name", "period_start"])
            .returning(PERIODIC.c.id)
        )
        return self._write(lambda conn: conn.execute(stmt).first() is not None)
