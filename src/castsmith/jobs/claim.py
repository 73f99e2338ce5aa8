"""Claiming jobs: exactly one worker gets each job, provider limits hold cluster-wide.

One claim is one write transaction:

1. Jobs whose lease ran out (their worker died) are taken back: the attempt's run is
   recorded as ``lost`` and the job is queued again (or failed once out of attempts).
2. For providers with limits, a per-provider lock (``pg_advisory_xact_lock`` on
   PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serializes claims) is taken and
   the free budget is counted: running jobs against the concurrency cap, run starts in
   the last 60 s against the requests-per-minute limit.
3. Queued jobs whose time has come are picked, highest priority first, then oldest,
   with ``FOR UPDATE SKIP LOCKED`` so concurrent claimers never wait on each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, text, update

from castsmith.config import ProviderLimit
from castsmith.domain import jobs as rules
from castsmith.jobs.family import roll_up, terminal_data
from castsmith.jobs.sql import JOBS, RUNS, Clock, add_events, event_row
from castsmith.jobs.types import ClaimedJob

REAP_BATCH = 100
RATE_WINDOW = timedelta(seconds=60)


def reap_expired(conn: Connection, now: datetime) -> None:
    """Take back jobs whose worker stopped renewing the lease."""
    rows = conn.execute(
        select(JOBS)
        .where(JOBS.c.status == rules.RUNNING, JOBS.c.lease_until < now)
        .order_by(JOBS.c.id)
        .limit(REAP_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return
    ids = [row.id for row in rows]
    conn.execute(
        update(RUNS)
        .where(RUNS.c.job_id.in_(ids), RUNS.c.outcome == rules.RUN_RUNNING)
        .values(
            outcome=rules.RUN_LOST,
            finished_at=now,
            error="the worker stopped renewing its lease (it died or hung)",
        )
    )
    events: list[dict[str, Any]] = []
    parents: set[int] = set()
    for row in rows:
        if row.cancel_requested:
            status, error = rules.CANCELLED, "cancelled"
        elif row.attempts >= row.max_attempts:
            status = rules.FAILED
            error = f"lost its worker on the last of {row.max_attempts} attempts"
        else:
            status, error = rules.QUEUED, row.error
        values: dict[str, Any] = {
            "status": rules.require_transition(row.status, status),
            "worker_id": None,
            "lease_until": None,
            "error": error,
            "updated_at": now,
        }
        if status == rules.QUEUED:
            values["run_after"] = now
            events.append(event_row(row, status, now, message="worker lost; queued again"))
        else:
            values["finished_at"] = now
            events.append(event_row(row, status, now, data=terminal_data(status, None, error)))
            if row.parent_id is not None:
                parents.add(row.parent_id)
        conn.execute(update(JOBS).where(JOBS.c.id == row.id).values(**values))
    add_events(conn, events)
    roll_up(conn, parents, now)


def provider_budgets(
    conn: Connection, limits: Mapping[str, ProviderLimit], now: datetime
) -> dict[str, int]:
    """How many more jobs of each limited provider may start right now."""
    names = sorted(limits)
    if not names:
        return {}
    if conn.dialect.name == "postgresql":
        for name in names:
            conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                {"k": f"castsmith.provider.{name}"},
            )
    running: dict[str, int] = dict(
        conn.execute(
            select(JOBS.c.provider, func.count())
            .where(JOBS.c.status == rules.RUNNING, JOBS.c.provider.in_(names))
            .group_by(JOBS.c.provider)
        ).all()
    )
    started: dict[str, int] = dict(
        conn.execute(
            select(RUNS.c.provider, func.count())
            .where(RUNS.c.provider.in_(names), RUNS.c.started_at > now - RATE_WINDOW)
            .group_by(RUNS.c.provider)
        ).all()
    )
    budgets: dict[str, int] = {}
    for name in names:
        limit = limits[name]
        free = 1 << 30
        if limit.concurrency is not None:
            free = min(free, limit.concurrency - running.get(name, 0))
        if limit.rpm is not None:
            free = min(free, limit.rpm - started.get(name, 0))
        budgets[name] = max(free, 0)
    return budgets


def claim(
    conn: Connection,
    worker_id: str,
    count: int,
    *,
    clock: Clock,
    lease_seconds: float,
    queues: Sequence[str] | None = None,
    limits: Mapping[str, ProviderLimit] | None = None,
    reap: bool = True,
) -> list[ClaimedJob]:
    """Claim up to ``count`` jobs for ``worker_id`` inside the caller's transaction.

    With ``reap`` it first takes back jobs whose lease ran out (:func:`reap_expired`).
    """
    now = clock()
    if reap:
        reap_expired(conn, now)
    budgets = provider_budgets(conn, limits or {}, now)
    # Read the clock again only after counting: a job that ended before the count
    # then always ends before the new runs start, so recorded run times never show
    # more overlap than the limits allowed.
    now = clock()
    exhausted = [name for name, free in budgets.items() if free <= 0]
    query = select(JOBS.c.id, JOBS.c.provider).where(
        JOBS.c.status == rules.QUEUED, JOBS.c.run_after <= now
    )
    if queues:
        query = query.where(JOBS.c.queue.in_(list(queues)))
    if exhausted:
        query = query.where(JOBS.c.provider.is_(None) | JOBS.c.provider.not_in(exhausted))
    lease = now + timedelta(seconds=lease_seconds)
    claimed = (
        update(JOBS)
        .values(
            status=rules.RUNNING,
            attempts=JOBS.c.attempts + 1,
            worker_id=worker_id,
            lease_until=lease,
            started_at=func.coalesce(JOBS.c.started_at, now),
            updated_at=now,
        )
        .returning(*JOBS.c)
    )
    order = (JOBS.c.priority.desc(), JOBS.c.id)
    if not budgets:
        # No provider limits to weigh: pick and take the jobs in one statement (one
        # round trip less between a wake-up and the start of the job).
        picked = query.with_only_columns(JOBS.c.id).order_by(*order).limit(count)
        picked = picked.with_for_update(skip_locked=True)
        rows = list(conn.execute(claimed.where(JOBS.c.id.in_(picked.scalar_subquery()))).all())
    else:
        # Over-fetch a little: the limits may drop some candidates.
        candidates = conn.execute(
            query.order_by(*order).limit(count * 2).with_for_update(skip_locked=True)
        ).all()
        chosen: list[int] = []
        for row in candidates:
            if len(chosen) >= count:
                break
            if row.provider in budgets:
                if budgets[row.provider] <= 0:
                    continue
                budgets[row.provider] -= 1
            chosen.append(row.id)
        if not chosen:
            return []
        rows = list(conn.execute(claimed.where(JOBS.c.id.in_(chosen))).all())
    if not rows:
        return []
    rows.sort(key=lambda r: (-r.priority, r.id))
    run_rows = [
        {
            "job_id": r.id,
            "attempt": r.attempts,
            "worker_id": worker_id,
            "started_at": now,
            "outcome": rules.RUN_RUNNING,
            "provider": r.provider,
        }
        for r in rows
    ]
    inserted = conn.execute(
        RUNS.insert().returning(RUNS.c.id, RUNS.c.job_id, sort_by_parameter_order=True),
        run_rows,
    ).all()
    run_ids = {job_id: run_id for run_id, job_id in inserted}
    add_events(conn, [event_row(r, rules.RUNNING, now) for r in rows])
    return [
        ClaimedJob(
            id=r.id,
            kind=r.kind,
            payload=r.payload or {},
            attempt=r.attempts,
            max_attempts=r.max_attempts,
            run_id=run_ids[r.id],
            parent_id=r.parent_id,
            owner_id=r.owner_id,
            provider=r.provider,
            timeout_seconds=r.timeout_seconds,
            stage=r.stage,
            queue=r.queue,
            checkpoint=r.checkpoint,
        )
        for r in rows
    ]
