"""Claiming jobs: exactly one worker gets each job, provider limits hold cluster-wide.

One claim is one write transaction:

1. Jobs whose lease ran out (their worker died) are taken back: the attempt's run is
   recorded as ``lost`` and the job is queued again (or failed once out of attempts).
2. Queued jobs whose time has come are picked, highest priority first, then oldest,
   with ``FOR UPDATE SKIP LOCKED`` so concurrent claimers never wait on each other.
3. For the limited providers those jobs name, a per-provider lock
   (``pg_advisory_xact_lock`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
   serializes claims) is taken and the free budget is counted: running jobs against
   the concurrency cap, run starts in the last 60 s against the requests-per-minute
   limit. Jobs past their provider's budget stay queued.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, func, literal, select, text, union_all, update

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
    """How many more jobs of each limited provider may start right now.

    Takes the providers' locks first, in name order, in one statement (unnest keeps the
    array's order, so every claimer locks alike), and counts in one more.
    """
    names = sorted(limits)
    if not names:
        return {}
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(CAST(:keys AS text[])) k"),
            {"keys": [f"castsmith.provider.{name}" for name in names]},
        )
    running = select(JOBS.c.provider, func.count(), literal("running")).where(
        JOBS.c.status == rules.RUNNING, JOBS.c.provider.in_(names)
    )
    started = select(RUNS.c.provider, func.count(), literal("started")).where(
        RUNS.c.provider.in_(names), RUNS.c.started_at > now - RATE_WINDOW
    )
    counts: dict[tuple[str, str], int] = {
        (provider, what): n
        for provider, n, what in conn.execute(
            union_all(running.group_by(JOBS.c.provider), started.group_by(RUNS.c.provider))
        ).all()
    }
    budgets: dict[str, int] = {}
    for name in names:
        limit = limits[name]
        free = 1 << 30
        if limit.concurrency is not None:
            free = min(free, limit.concurrency - counts.get((name, "running"), 0))
        if limit.rpm is not None:
            free = min(free, limit.rpm - counts.get((name, "started"), 0))
        budgets[name] = max(free, 0)
    return budgets


def _choose_limited(
    conn: Connection,
    query: Select[Any],
    count: int,
    limits: Mapping[str, ProviderLimit],
    now: datetime,
) -> list[int]:
    """Pick up to ``count`` candidates within the limits of the providers they name.

    Budgets are counted only for the limited providers the candidates name: a claim of
    jobs that name none (the common case) takes no lock and counts nothing. When an
    exhausted provider's jobs filled the window, one more look skips every limited
    provider without budget, so they never starve the others; it takes no new lock, so
    claimers always lock in one order.
    """
    chosen: list[int] = []
    budgets: dict[str, int] = {}
    for second_look in (False, True):
        wanted = query
        if second_look:
            blocked = sorted(set(limits) - {n for n, free in budgets.items() if free > 0})
            wanted = wanted.where(JOBS.c.provider.is_(None) | JOBS.c.provider.not_in(blocked))
            if chosen:
                wanted = wanted.where(JOBS.c.id.not_in(chosen))
        # Over-fetch a little: the limits may drop some candidates.
        candidates = conn.execute(
            wanted.limit((count - len(chosen)) * 2).with_for_update(skip_locked=True)
        ).all()
        if not second_look:
            named = {row.provider for row in candidates if row.provider in limits}
            budgets = provider_budgets(conn, {n: limits[n] for n in named}, now)
        dropped = False
        for row in candidates:
            if len(chosen) >= count:
                break
            if row.provider in limits:
                if budgets.get(row.provider, 0) <= 0:
                    dropped = True
                    continue
                budgets[row.provider] -= 1
            chosen.append(row.id)
        if len(chosen) >= count or not dropped:
            break
    return chosen


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
    order = (JOBS.c.priority.desc(), JOBS.c.id)
    query = select(JOBS.c.id, JOBS.c.provider).where(
        JOBS.c.status == rules.QUEUED, JOBS.c.run_after <= now
    )
    if queues:
        query = query.where(JOBS.c.queue.in_(list(queues)))
    query = query.order_by(*order)
    chosen = _choose_limited(conn, query, count, limits, now) if limits else None
    # Read the clock again only after counting: a job that ended before the count
    # then always ends before the new runs start, so recorded run times never show
    # more overlap than the limits allowed.
    now = clock()
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
    if chosen is None:
        # No provider limits to weigh: pick and take the jobs in one statement (one
        # round trip less between a wake-up and the start of the job).
        picked = query.with_only_columns(JOBS.c.id).limit(count)
        picked = picked.with_for_update(skip_locked=True)
        rows = list(conn.execute(claimed.where(JOBS.c.id.in_(picked.scalar_subquery()))).all())
    elif chosen:
        rows = list(conn.execute(claimed.where(JOBS.c.id.in_(chosen))).all())
    else:
        return []
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
