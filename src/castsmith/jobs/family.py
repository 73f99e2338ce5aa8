"""Parents and children: rolling children's ends up into the parent, cancelling a tree.

Every function here runs inside a write transaction the caller holds. The parent row
is locked (``FOR UPDATE`` on PostgreSQL; SQLite's write lock covers everything) before
its children are counted, so when two children end at once in two transactions the
second one to lock the parent sees the first one's end and rolls up exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from castsmith.domain import jobs as rules
from castsmith.jobs.sql import (
    CANCEL_CHANNEL,
    JOBS,
    JOBS_CHANNEL,
    RUNS,
    add_events,
    event_row,
    notify,
)


def terminal_data(status: str, result: Any = None, error: str | None = None) -> dict[str, Any]:
    """The ``data`` of a terminal status event: the result or the error."""
    return {"result": result, "error": error, "status": status}


def child_error_log(children: Sequence[Any]) -> list[dict[str, Any]]:
    """One entry per child that did not succeed: ``{child_id, kind, error, label}``."""
    log: list[dict[str, Any]] = []
    for child in children:
        if child.status in rules.SUCCESS_STATUSES:
            continue
        error = child.error or ("cancelled" if child.status == rules.CANCELLED else "failed")
        log.append({"child_id": child.id, "kind": child.kind, "error": error, "label": child.label})
    return log


@dataclass(frozen=True)
class ParentEnd:
    """How a parent ends once all its children have: status, error and error log."""

    status: str
    error: str | None
    error_log: list[dict[str, Any]]


def parent_end(children: Sequence[Any]) -> ParentEnd:
    """The one place a parent's final status is decided from its children's.

    Used when a waiting parent settles by itself, when its finalize stage succeeds, and
    for the summary a finalizer hook sees, so all three always agree.
    """
    status = rules.aggregate_children(child.status for child in children)
    error_log = child_error_log(children)
    return ParentEnd(status, rules.children_error(status, len(error_log), len(children)), error_log)


def children_of(conn: Connection, parent_id: int) -> list[Any]:
    """The children of ``parent_id`` with what :func:`parent_end` needs, oldest first."""
    return list(
        conn.execute(
            select(JOBS.c.id, JOBS.c.kind, JOBS.c.status, JOBS.c.error, JOBS.c.label)
            .where(JOBS.c.parent_id == parent_id)
            .order_by(JOBS.c.id)
        ).all()
    )


def roll_up(conn: Connection, parent_ids: set[int], now: datetime) -> None:
    """Settle every parent in ``parent_ids`` whose last child has just ended."""
    pending = sorted(pid for pid in parent_ids if pid is not None)
    seen: set[int] = set()
    while pending:
        # Sorted order keeps two transactions from locking the same parents crosswise.
        parent_id = pending.pop(0)
        if parent_id in seen:
            continue
        seen.add(parent_id)
        grandparent = _settle(conn, parent_id, now)
        if grandparent is not None:
            pending.append(grandparent)


def _settle(conn: Connection, parent_id: int, now: datetime) -> int | None:
    parent = conn.execute(select(JOBS).where(JOBS.c.id == parent_id).with_for_update()).first()
    if parent is None or parent.status != rules.WAITING:
        return None
    children = children_of(conn, parent_id)
    if any(child.status not in rules.TERMINAL_STATUSES for child in children):
        return None
    end = parent_end(children)
    if parent.finalizer:
        # The kind wants to see the outcome (e.g. to roll results up): run its hook
        # as one more claimable stage of the parent.
        conn.execute(
            update(JOBS)
            .where(JOBS.c.id == parent_id)
            .values(
                status=rules.require_transition(parent.status, rules.QUEUED),
                stage="finalize",
                run_after=now,
                error_log=end.error_log,
                updated_at=now,
            )
        )
        add_events(conn, [event_row(parent, rules.QUEUED, now, message="children finished")])
        notify(conn, JOBS_CHANNEL, parent.queue)
        return None
    status, error = rules.require_transition(parent.status, end.status), end.error
    progress = 100.0 if status != rules.FAILED else parent.progress
    conn.execute(
        update(JOBS)
        .where(JOBS.c.id == parent_id)
        .values(
            status=status,
            error_log=end.error_log,
            error=error,
            finished_at=now,
            progress=progress,
            updated_at=now,
        )
    )
    add_events(
        conn,
        [
            event_row(
                parent,
                status,
                now,
                progress=progress,
                data=terminal_data(status, parent.result, error),
            )
        ],
    )
    return int(parent.parent_id) if parent.parent_id is not None else None


def cancel_tree(conn: Connection, root_id: int, now: datetime) -> list[int]:
    """Cancel ``root_id``'s unfinished descendants (queued/waiting at once, running by flag).

    Returns the ids of the running descendants that were flagged.
    """
    frontier = [root_id]
    events: list[dict[str, Any]] = []
    flagged: list[int] = []
    while frontier:
        rows = conn.execute(
            select(JOBS)
            .where(JOBS.c.parent_id.in_(frontier))
            .where(JOBS.c.status.in_(tuple(rules.ACTIVE_STATUSES)))
            .order_by(JOBS.c.id)
            .with_for_update()
        ).all()
        frontier = [row.id for row in rows]
        for row in rows:
            events.extend(cancel_one(conn, row, now))
            if row.status == rules.RUNNING:
                flagged.append(row.id)
    add_events(conn, events)
    return flagged


def cancel_one(conn: Connection, row: Any, now: datetime) -> list[dict[str, Any]]:
    """Cancel one locked, unfinished job row; return the events to record."""
    if row.status == rules.RUNNING:
        conn.execute(
            update(JOBS).where(JOBS.c.id == row.id).values(cancel_requested=True, updated_at=now)
        )
        # The worker running it hears this at commit and stops the handler at once,
        # rather than at its next heartbeat.
        notify(conn, CANCEL_CHANNEL, str(row.id))
        return [event_row(row, rules.RUNNING, now, message="cancellation requested")]
    conn.execute(
        update(JOBS)
        .where(JOBS.c.id == row.id)
        .values(
            status=rules.require_transition(row.status, rules.CANCELLED),
            cancel_requested=True,
            finished_at=now,
            lease_until=None,
            error="cancelled",
            updated_at=now,
        )
    )
    conn.execute(
        update(RUNS)
        .where(RUNS.c.job_id == row.id, RUNS.c.outcome == rules.RUN_RUNNING)
        .values(outcome=rules.RUN_CANCELLED, finished_at=now)
    )
    return [
        event_row(row, rules.CANCELLED, now, data=terminal_data(rules.CANCELLED, None, "cancelled"))
    ]
