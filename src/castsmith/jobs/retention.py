"""Retention: finished jobs, their runs and their events go after configurable ages.

The work is cut into small batches, each its own short transaction, so a pass over a
million finished jobs never holds a lock a claim would wait for: claims touch only
queued and running rows, a batch only ended ones, and on PostgreSQL a batch skips any
row another transaction holds (``SKIP LOCKED``) rather than waiting for it. On SQLite
a batch holds the write lock for that batch only; claims take it between batches.

Only whole trees go: a root job (one without a parent) past its age, together with
every descendant, and only once every job of the tree has ended. A job whose parent or
child is still active is kept. Rows of other tables that point at a pruned job keep
their data (the link becomes null); what an asset needs to be reproduced (provider,
model, prompt, seed, remote id) is stored on the asset itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, or_, select

from castsmith.config import Settings
from castsmith.domain import jobs as rules
from castsmith.jobs.periodic import PeriodicTask
from castsmith.jobs.sql import EVENTS, JOBS, RUNS, Clock, in_write_tx, system_clock

# Statuses kept for ``jobs`` age; failed jobs have their own, longer age.
ENDED_OK = (rules.COMPLETED, rules.COMPLETED_WITH_ERRORS, rules.CANCELLED)


@dataclass(frozen=True)
class RetentionPolicy:
    """How long ended work is kept, and how big one delete batch is."""

    jobs: timedelta = timedelta(days=30)
    failed_jobs: timedelta = timedelta(days=90)
    runs: timedelta = timedelta(days=30)
    events: timedelta = timedelta(days=7)
    batch_size: int = 500
    # A pause between batches leaves room for other writers (SQLite's single lock).
    pause: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        """The policy the settings describe."""
        return cls(
            jobs=timedelta(seconds=settings.job_retention_seconds),
            failed_jobs=timedelta(seconds=settings.job_failed_retention_seconds),
            runs=timedelta(seconds=settings.job_runs_retention_seconds),
            events=timedelta(seconds=settings.job_events_retention_seconds),
            batch_size=settings.job_prune_batch_size,
            pause=settings.job_prune_pause_seconds,
        )

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """Per terminal status, the finish time before which a root job goes."""
        ages = dict.fromkeys(ENDED_OK, self.jobs) | {rules.FAILED: self.failed_jobs}
        return {status: now - age for status, age in ages.items()}


@dataclass
class PruneReport:
    """What a pass deleted (or, for a dry run, would delete)."""

    jobs: int = 0
    runs: int = 0
    events: int = 0
    batches: int = 0
    seconds: float = 0.0
    # The longest single transaction: how long anything could have waited on a batch.
    longest_batch: float = 0.0
    dry_run: bool = False
    kept_active_trees: int = 0
    batch_times: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The figures, for printing as JSON."""
        return {
            "dry_run": self.dry_run,
            "jobs": self.jobs,
            "runs": self.runs,
            "events": self.events,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "longest_batch_seconds": round(self.longest_batch, 4),
            "kept_active_trees": self.kept_active_trees,
        }


# Ids per ``IN (...)`` list: well under SQLite's bound-parameter limit.
CHUNK = 1000


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _tree(conn: Connection, roots: list[int]) -> list[tuple[int, int, str]]:
    """``(root, job id, status)`` for each root and all its descendants.

    One indexed ``IN`` query per level of the trees (almost always two: the roots and
    their, usually absent, children). A recursive CTE did the same, but PostgreSQL
    cannot estimate its work table and, with a million jobs, costed it high enough to
    compile it with JIT on every batch: 40 ms of 140 ms each time.
    """
    root_of: dict[int, int] = {}
    nodes: list[tuple[int, int, str]] = []
    for chunk in _chunks(roots):
        for row in conn.execute(select(JOBS.c.id, JOBS.c.status).where(JOBS.c.id.in_(chunk))):
            root_of[int(row.id)] = int(row.id)
            nodes.append((int(row.id), int(row.id), str(row.status)))
    level = list(root_of)
    while level:
        below: list[int] = []
        for chunk in _chunks(level):
            query = select(JOBS.c.id, JOBS.c.parent_id, JOBS.c.status)
            for child in conn.execute(query.where(JOBS.c.parent_id.in_(chunk))):
                root = root_of[int(child.parent_id)]
                root_of[int(child.id)] = root
                nodes.append((root, int(child.id), str(child.status)))
                below.append(int(child.id))
        level = below
    return nodes


class Retention:
    """Prunes ended jobs (whole trees), old runs and old events in small batches."""

    def __init__(
        self, engine: Engine, policy: RetentionPolicy, clock: Clock = system_clock
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock
        self._postgres = engine.dialect.name == "postgresql"

    # --- one batch each; public so a caller can hold one open (tests, benchmarks) --
    def candidate_roots(
        self, conn: Connection, status: str, cutoff: datetime, after_id: int
    ) -> list[int]:
        """Up to one batch of root jobs in ``status`` that ended before ``cutoff``, in id
        order after ``after_id`` (ids follow time closely, and the walk uses the
        ``(status, id)`` index the jobs list uses too)."""
        stmt = (
            select(JOBS.c.id)
            .where(
                JOBS.c.status == status,
                JOBS.c.id > after_id,
                JOBS.c.finished_at < cutoff,
                JOBS.c.parent_id.is_(None),
            )
            .order_by(JOBS.c.id)
            .limit(self.policy.batch_size)
        )
        if self._postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        return [int(r.id) for r in conn.execute(stmt)]

    def delete_trees(self, conn: Connection, roots: list[int]) -> tuple[int, int, int, int]:
        """Delete every tree of ``roots`` whose jobs have all ended.

        Returns (jobs, runs, events, trees kept because a job in them is active).
        """
        if not roots:
            return 0, 0, 0, 0
        nodes = _tree(conn, roots)
        active = {root for root, _, status in nodes if not rules.is_terminal(status)}
        ids = [job_id for root, job_id, _ in nodes if root not in active]
        if not ids:
            return 0, 0, 0, len(active)
        events = runs = 0
        for chunk in _chunks(ids):
            events += conn.execute(delete(EVENTS).where(EVENTS.c.job_id.in_(chunk))).rowcount
            runs += conn.execute(delete(RUNS).where(RUNS.c.job_id.in_(chunk))).rowcount
        # Deepest levels first, so few rows go by a parent's cascade instead. The count
        # is not the rowcount (a cascade deletes rows before their own delete counts
        # them, on SQLite too): every id of an ended tree goes.
        for chunk in reversed(_chunks(ids)):
            conn.execute(delete(JOBS).where(JOBS.c.id.in_(chunk)))
        return len(ids), int(runs), int(events), len(active)

    def delete_old_runs(
        self, conn: Connection, cutoff: datetime, after_id: int = 0
    ) -> tuple[int, int]:
        """One batch of ended runs older than ``cutoff``, in id order after ``after_id``
        (a failed job keeps its runs, which explain the failure, for as long as the job
        itself is kept). Returns how many went and the last id, the next ``after_id``.

        Each batch starts where the last stopped; starting at the oldest run each time
        would step again over every row earlier batches deleted (dead until vacuumed).
        """
        failed = select(JOBS.c.id).where(JOBS.c.id == RUNS.c.job_id, JOBS.c.status == rules.FAILED)
        batch = (
            select(RUNS.c.id)
            .where(RUNS.c.id > after_id, RUNS.c.finished_at < cutoff, ~failed.exists())
            .order_by(RUNS.c.id)
            .limit(self.policy.batch_size)
        )
        ids = [int(row.id) for row in conn.execute(batch)]
        if not ids:
            return 0, after_id
        conn.execute(delete(RUNS).where(RUNS.c.id.in_(ids)))
        return len(ids), ids[-1]

    def delete_old_events(
        self, conn: Connection, cutoff: datetime, since: datetime | None = None
    ) -> tuple[int, datetime | None]:
        """One batch of events older than ``cutoff``, oldest first, from ``since`` on.

        Returns how many went and the newest time among them, the next batch's
        ``since``: each batch starts where the last stopped (in the ``created_at``
        index) instead of stepping again over everything deleted before it.
        """
        batch = select(EVENTS.c.id, EVENTS.c.created_at).where(EVENTS.c.created_at < cutoff)
        if since is not None:
            # ">=": rows sharing the last time may remain; deleted ones are not seen.
            batch = batch.where(EVENTS.c.created_at >= since)
        rows = conn.execute(batch.order_by(EVENTS.c.created_at).limit(self.policy.batch_size))
        found = rows.all()
        if not found:
            return 0, since
        conn.execute(delete(EVENTS).where(EVENTS.c.id.in_([int(row.id) for row in found])))
        return len(found), found[-1].created_at

    # --- whole passes ------------------------------------------------------------
    def prune(
        self, *, dry_run: bool = False, on_batch: Callable[[PruneReport], None] | None = None
    ) -> PruneReport:
        """Delete everything past its age, batch by batch (or only count it).

        ``on_batch`` is called between batches, with no transaction open.
        """
        if dry_run:
            return self.count()
        report = PruneReport()
        started = time.perf_counter()
        now = self.clock()

        def timed(work: Callable[[Connection], Any]) -> Any:
            t0 = time.perf_counter()
            result = in_write_tx(self.engine, work)
            took = time.perf_counter() - t0
            report.batches += 1
            report.batch_times.append(took)
            report.longest_batch = max(report.longest_batch, took)
            if on_batch is not None:
                on_batch(report)
            if self.policy.pause:
                time.sleep(self.policy.pause)
            return result

        for status, cutoff in self.policy.cutoffs(now).items():
            after = 0
            while True:

                def batch(conn: Connection) -> tuple[list[int], Any]:
                    found = self.candidate_roots(conn, status, cutoff, after)  # noqa: B023
                    return found, self.delete_trees(conn, found)

                found, (jobs, runs, events, kept) = timed(batch)
                report.jobs += jobs
                report.runs += runs
                report.events += events
                report.kept_active_trees += kept
                if len(found) < self.policy.batch_size:
                    break
                after = found[-1]
        runs_cut, events_cut = now - self.policy.runs, now - self.policy.events
        last_run = 0
        while True:
            gone, last_run = timed(
                partial(self.delete_old_runs, cutoff=runs_cut, after_id=last_run)
            )
            report.runs += gone
            if gone < self.policy.batch_size:
                break
        since: datetime | None = None
        while True:
            gone, since = timed(partial(self.delete_old_events, cutoff=events_cut, since=since))
            report.events += gone
            if gone < self.policy.batch_size:
                break
        report.seconds = time.perf_counter() - started
        return report

    def count(self) -> PruneReport:
        """What :meth:`prune` would delete now, without deleting anything."""
        now = self.clock()
        report = PruneReport(dry_run=True)
        started = time.perf_counter()
        runs_cut, events_cut = now - self.policy.runs, now - self.policy.events
        failed = JOBS.c.status == rules.FAILED
        with self.engine.connect() as conn:
            root_ids: list[int] = []
            for status, cutoff in self.policy.cutoffs(now).items():
                roots = select(JOBS.c.id).where(
                    JOBS.c.status == status,
                    JOBS.c.finished_at < cutoff,
                    JOBS.c.parent_id.is_(None),
                )
                root_ids.extend(int(r[0]) for r in conn.execute(roots))
            # Old runs and events outside the trees, plus the trees' other rows.
            old_runs = select(func.count()).select_from(RUNS.join(JOBS))
            old_runs = old_runs.where(RUNS.c.finished_at < runs_cut, ~failed)
            old_events = select(func.count()).select_from(EVENTS)
            report.runs = int(conn.execute(old_runs).scalar() or 0)
            report.events = int(
                conn.execute(old_events.where(EVENTS.c.created_at < events_cut)).scalar() or 0
            )
            for chunk in range(0, len(root_ids), 2000):
                nodes = _tree(conn, root_ids[chunk : chunk + 2000])
                active = {root for root, _, status in nodes if not rules.is_terminal(status)}
                report.kept_active_trees += len(active)
                ids = [job_id for root, job_id, _ in nodes if root not in active]
                report.jobs += len(ids)
                if not ids:
                    continue
                runs_too = select(func.count()).select_from(RUNS.join(JOBS))
                runs_too = runs_too.where(
                    RUNS.c.job_id.in_(ids),
                    or_(RUNS.c.finished_at.is_(None), RUNS.c.finished_at >= runs_cut, failed),
                )
                events_too = old_events.where(
                    EVENTS.c.job_id.in_(ids), EVENTS.c.created_at >= events_cut
                )
                report.runs += int(conn.execute(runs_too).scalar() or 0)
                report.events += int(conn.execute(events_too).scalar() or 0)
        report.seconds = time.perf_counter() - started
        return report


def retention_task(engine: Engine, settings: Settings) -> PeriodicTask:
    """The built-in periodic task that prunes ended work by the settings' ages."""
    retention = Retention(engine, RetentionPolicy.from_settings(settings))

    async def prune(_services: Any) -> None:
        await asyncio.to_thread(retention.prune)

    return PeriodicTask("jobs.retention", settings.job_prune_period_seconds, prune)
