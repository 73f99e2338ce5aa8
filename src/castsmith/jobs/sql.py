"""Database plumbing shared by the queue's modules: tables, transactions, events, NOTIFY."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, insert, text
from sqlalchemy.exc import DBAPIError, OperationalError

from castsmith.db.models import Job, JobEvent, JobRun, PeriodicRun
from castsmith.domain.jobs import TERMINAL_STATUSES

log = logging.getLogger("castsmith.jobs")

JOBS: Table = Job.__table__  # type: ignore[assignment]
RUNS: Table = JobRun.__table__  # type: ignore[assignment]
EVENTS: Table = JobEvent.__table__  # type: ignore[assignment]
PERIODIC: Table = PeriodicRun.__table__  # type: ignore[assignment]

JOBS_CHANNEL = "castsmith_jobs"
TERMINAL = TERMINAL_STATUSES
_ENDED = "castsmith.jobs.ended"
EVENTS_CHANNEL = "castsmith_events"
CANCEL_CHANNEL = "castsmith_cancel"

Clock = Callable[[], datetime]
T = TypeVar("T")


def system_clock() -> datetime:
    """Wall-clock time in UTC (the default clock; tests inject their own)."""
    return datetime.now(UTC)


def is_postgres(engine: Engine) -> bool:
    """True when ``engine`` talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it takes the write lock at BEGIN (IMMEDIATE).

    Taking the lock up front matters: a deferred transaction that reads and then
    writes can fail with SQLITE_BUSY instead of waiting, and IMMEDIATE is also what
    makes a claim atomic across processes sharing one SQLite file.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def _transient(exc: DBAPIError) -> bool:
    # Deadlocks and serialization failures (PostgreSQL) and a locked file (SQLite)
    # leave nothing half-done: the whole transaction can simply run again.
    code = getattr(exc.orig, "sqlstate", None)
    if code in {"40P01", "40001"}:
        return True
    return "database is locked" in str(exc.orig)


def in_write_tx(engine: Engine, work: Callable[[Connection], T], attempts: int = 5) -> T:
    """Run ``work`` in a write transaction, again if the database reports a deadlock."""
    for attempt in range(1, attempts + 1):
        try:
            with write_tx(engine) as conn:
                return work(conn)
        except (OperationalError, DBAPIError) as exc:
            if attempt == attempts or not _transient(exc):
                raise
            log.warning("transient database error, retrying", extra={"error": str(exc.orig)})
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def notify(conn: Connection, channel: str, payload: str = "") -> None:
    """Wake listeners when the transaction commits (PostgreSQL; a no-op on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})


def event_row(
    job: Any,
    status: str,
    now: datetime,
    *,
    event: str = "status",
    progress: float | None = None,
    message: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``job_events`` row for ``job`` (any mapping with id, kind, parent_id, progress)."""
    m = job._mapping if hasattr(job, "_mapping") else job
    return {
        "job_id": m["id"],
        "kind": m["kind"],
        "parent_id": m["parent_id"],
        "event": event,
        "status": status,
        "progress": progress if progress is not None else (m.get("progress") or 0.0),
        "message": message,
        "data": data,
        "created_at": now,
    }


def add_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append events and wake event listeners at commit.

    Every terminal transition passes here, so the terminal ones are also kept (on the
    connection, for this transaction) for the queue's end hooks: see :func:`take_ended`.
    """
    if not rows:
        return
    conn.execute(insert(EVENTS), rows)
    notify(conn, EVENTS_CHANNEL)
    ended = [row for row in rows if row["event"] == "status" and row["status"] in TERMINAL]
    if ended:
        conn.info.setdefault(_ENDED, []).extend(ended)


def take_ended(conn: Connection) -> list[dict[str, Any]]:
    """The terminal events recorded on ``conn`` since the last call (and forget them)."""
    ended: list[dict[str, Any]] = conn.info.pop(_ENDED, [])
    return ended
