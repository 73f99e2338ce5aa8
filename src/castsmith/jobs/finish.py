"""Recording how attempts ended, renewing leases and reporting progress.

Every write is guarded by the worker id and attempt number: a worker that lost its
lease (and whose job another worker took over) cannot overwrite the newer attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from castsmith.domain import jobs as rules
from castsmith.jobs.family import cancel_tree, children_of, parent_end, roll_up, terminal_data
from castsmith.jobs.outcomes import (
    Cancelled,
    Failed,
    Outcome,
    Released,
    RetryAt,
    Succeeded,
    WaitingForChildren,
    error_of,
    run_outcome,
)
from castsmith.jobs.sql import JOBS, JOBS_CHANNEL, RUNS, add_events, event_row, notify

_RUN_UPDATE = (
    update(RUNS)
    .where(RUNS.c.id == bindparam("b_run"), RUNS.c.outcome == rules.RUN_RUNNING)
    .values(
        outcome=bindparam("b_outcome"),
        error=bindparam("b_error"),
        finished_at=bindparam("b_finished"),
    )
)


def _settled(outcome: Outcome, job: Any) -> Outcome:
    # A job the user cancelled while it ran ends cancelled, whatever the handler did
    # on its way out, unless it managed to finish its work.
    if job.cancel_requested and isinstance(outcome, RetryAt | Failed | Released):
        return Cancelled(outcome.attempt)
    return outcome


def _job_values(outcome: Outcome, job: Any, conn: Connection, now: datetime) -> dict[str, Any]:
    base: dict[str, Any] = {"lease_until": None, "updated_at": now}
    match outcome:
        case Succeeded(result=result):
            status, error, error_log = rules.COMPLETED, None, job.error_log
            if job.stage == "finalize":
                end = parent_end(children_of(conn, job.id))
                status, error, error_log = end.status, end.error, end.error_log
            return base | {
                "status": status,
                "result": result,
                "error": error,
                "error_log": error_log,
                "progress": 100.0,
                "finished_at": now,
            }
        case WaitingForChildren(finalizer=finalizer):
            return base | {"status": rules.WAITING, "finalizer": finalizer, "result": None}
        case RetryAt(error=error, at=at):
            return base | {
                "status": rules.QUEUED,
                "worker_id": None,
                "error": error,
                "run_after": at,
            }
        case Released():
            # A shutdown is not the job's fault: the attempt does not count.
            return base | {
                "status": rules.QUEUED,
                "worker_id": None,
                "run_after": now,
                "attempts": JOBS.c.attempts - 1,
            }
        case Cancelled():
            return base | {"status": rules.CANCELLED, "error": "cancelled", "finished_at": now}
        case Failed(error=error):
            return base | {"status": rules.FAILED, "error": error, "finished_at": now}


def finish_many(
    conn: Connection, worker_id: str, outcomes: Sequence[Outcome], now: datetime
) -> list[int]:
    """Record the end of several attempts; returns the ids whose outcome was recorded."""
    recorded: list[int] = []
    run_updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    parents: set[int] = set()
    waiting: set[int] = set()
    requeued: set[str] = set()
    quick = [o for o in outcomes if isinstance(o, Succeeded)]
    done = _complete_plain(conn, worker_id, quick, now, run_updates, events, parents)
    recorded.extend(done)
    for reported in outcomes:
        if reported.attempt.job_id in done:
            continue
        job = conn.execute(
            select(JOBS)
            .where(
                JOBS.c.id == reported.attempt.job_id,
                JOBS.c.worker_id == worker_id,
                JOBS.c.attempts == reported.attempt.number,
                JOBS.c.status == rules.RUNNING,
            )
            .with_for_update()
        ).first()
        if job is None:
            continue  # lost the lease meanwhile; the newer attempt owns the job
        outcome = _settled(reported, job)
        values = _job_values(outcome, job, conn, now)
        status = rules.require_transition(job.status, values["status"])
        conn.execute(update(JOBS).where(JOBS.c.id == job.id).values(**values))
        recorded.append(job.id)
        run_updates.append(
            {
                "b_run": outcome.attempt.run_id,
                "b_outcome": run_outcome(outcome),
                "b_error": error_of(reported),
                "b_finished": now,
            }
        )
        progress = values.get("progress", job.progress)
        if status in rules.TERMINAL_STATUSES:
            data = terminal_data(status, values.get("result"), values.get("error"))
            events.append(event_row(job, status, now, progress=progress, data=data))
            if job.parent_id is not None:
                parents.add(job.parent_id)
            if status == rules.CANCELLED:
                cancel_tree(conn, job.id, now)
        else:
            message = error_of(outcome) if isinstance(outcome, RetryAt) else None
            events.append(event_row(job, status, now, progress=progress, message=message))
            if status == rules.WAITING:
                waiting.add(job.id)
            elif status == rules.QUEUED:
                requeued.add(job.queue)
    if run_updates:
        conn.execute(_RUN_UPDATE, run_updates)
    add_events(conn, events)
    for queue in requeued:
        notify(conn, JOBS_CHANNEL, queue)
    # A parent whose children all ended before it went waiting settles right here.
    roll_up(conn, parents | waiting, now)
    return recorded


_PLAIN_SUCCESS = (
    update(JOBS)
    .where(
        JOBS.c.id == bindparam("b_id"),
        JOBS.c.worker_id == bindparam("b_worker"),
        JOBS.c.attempts == bindparam("b_attempt"),
        JOBS.c.status == rules.RUNNING,
        JOBS.c.stage == "run",
    )
    .values(
        status=rules.COMPLETED,
        result=bindparam("b_result"),
        error=None,
        progress=100.0,
        finished_at=bindparam("b_now"),
        lease_until=None,
        updated_at=bindparam("b_now"),
    )
)


def _complete_plain(
    conn: Connection,
    worker_id: str,
    outcomes: Sequence[Succeeded],
    now: datetime,
    run_updates: list[dict[str, Any]],
    events: list[dict[str, Any]],
    parents: set[int],
) -> set[int]:
    """Complete ordinary successes with one batched statement instead of two per job.

    Which rows matched is read back afterwards: a job completed by this worker at this
    very ``now`` can only be one of ours (a job taken over by another worker carries
    that worker's id). Anything not matched takes the general path.
    """
    if not outcomes:
        return set()
    ordered = sorted(outcomes, key=lambda o: o.attempt.job_id)
    conn.execute(
        _PLAIN_SUCCESS,
        [
            {
                "b_id": o.attempt.job_id,
                "b_worker": worker_id,
                "b_attempt": o.attempt.number,
                "b_result": o.result,
                "b_now": now,
            }
            for o in ordered
        ],
    )
    rows = conn.execute(
        select(JOBS.c.id, JOBS.c.kind, JOBS.c.parent_id, JOBS.c.result).where(
            JOBS.c.id.in_([o.attempt.job_id for o in ordered]),
            JOBS.c.status == rules.COMPLETED,
            JOBS.c.worker_id == worker_id,
            JOBS.c.finished_at == now,
        )
    ).all()
    done = {row.id for row in rows}
    for outcome in ordered:
        if outcome.attempt.job_id in done:
            run_updates.append(
                {
                    "b_run": outcome.attempt.run_id,
                    "b_outcome": rules.RUN_SUCCEEDED,
                    "b_error": None,
                    "b_finished": now,
                }
            )
    for row in rows:
        data = terminal_data(rules.COMPLETED, row.result, None)
        events.append(
            event_row(
                {"id": row.id, "kind": row.kind, "parent_id": row.parent_id},
                rules.COMPLETED,
                now,
                progress=100.0,
                data=data,
            )
        )
        if row.parent_id is not None:
            parents.add(row.parent_id)
    return done


def heartbeat(
    conn: Connection, worker_id: str, job_ids: Sequence[int], now: datetime, lease: float
) -> dict[int, bool]:
    """Renew the leases of ``job_ids``; map each job still held to its cancel flag.

    A job missing from the answer is no longer this worker's (its lease ran out and
    another worker took it over, or it was settled elsewhere).
    """
    if not job_ids:
        return {}
    rows = conn.execute(
        update(JOBS)
        .where(
            JOBS.c.id.in_(list(job_ids)),
            JOBS.c.worker_id == worker_id,
            JOBS.c.status == rules.RUNNING,
        )
        .values(lease_until=now + timedelta(seconds=lease))
        .returning(JOBS.c.id, JOBS.c.cancel_requested)
    ).all()
    return {row.id: bool(row.cancel_requested) for row in rows}


def report_progress(
    conn: Connection,
    job_id: int,
    worker_id: str,
    percent: float,
    message: str | None,
    now: datetime,
) -> bool:
    """Store a running job's progress and record a progress event."""
    percent = max(0.0, min(100.0, float(percent)))
    row = conn.execute(
        update(JOBS)
        .where(JOBS.c.id == job_id, JOBS.c.worker_id == worker_id, JOBS.c.status == rules.RUNNING)
        .values(progress=percent, progress_message=message, updated_at=now)
        .returning(JOBS.c.id, JOBS.c.kind, JOBS.c.parent_id, JOBS.c.progress)
    ).first()
    if row is None:
        return False
    add_events(
        conn,
        [event_row(row, rules.RUNNING, now, event="progress", progress=percent, message=message)],
    )
    return True


def save_checkpoint(
    conn: Connection,
    job_id: int,
    worker_id: str,
    attempt: int,
    data: dict[str, Any],
    now: datetime,
) -> bool:
    """Store a running attempt's checkpoint; False when the attempt no longer holds the job."""
    row = conn.execute(
        update(JOBS)
        .where(
            JOBS.c.id == job_id,
            JOBS.c.worker_id == worker_id,
            JOBS.c.attempts == attempt,
            JOBS.c.status == rules.RUNNING,
        )
        .values(checkpoint=data, updated_at=now)
        .returning(JOBS.c.id)
    ).first()
    return row is not None
