"""The durable job queue: one object over the ``jobs`` tables that every process shares.

Methods are synchronous (SQLAlchemy Core); async callers run them through
``asyncio.to_thread``. The queue knows job kinds only through the optional
:class:`~castsmith.jobs.registry.HandlerRegistry`, which supplies per-kind defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from castsmith.config import ProviderLimit, Settings
from castsmith.db.owned import owned_by
from castsmith.domain import jobs as rules
from castsmith.domain.access import OPERATOR, Principal
from castsmith.domain.cursors import Cursors
from castsmith.domain.errors import Conflict, NotFound, ValidationError
from castsmith.jobs.actions import UserActions
from castsmith.jobs.aftercommit import after_commit
from castsmith.jobs.attempts import WorkerSide
from castsmith.jobs.family import parent_end
from castsmith.jobs.sql import (
    EVENTS,
    JOBS,
    JOBS_CHANNEL,
    RUNS,
    Clock,
    add_events,
    event_row,
    in_write_tx,
    notify,
    system_clock,
    take_ended,
)
from castsmith.jobs.types import ChildrenSummary, EventView, JobSpec, JobView, RunView

if TYPE_CHECKING:
    from castsmith.jobs.registry import HandlerRegistry

T = TypeVar("T")
EnqueueHook = Callable[[JobSpec], JobSpec]
EndHook = Callable[[Connection, Sequence[dict[str, Any]]], None]
ACTIVE_KEY_WHERE = text("status IN ('queued', 'running')")
MAX_PAGE = 500


JOB_CURSORS = Cursors("j")
# The listing's cursors: newest first, so a page holds the ids below the cursor's.
encode_cursor = JOB_CURSORS.encode
decode_cursor = JOB_CURSORS.decode


class JobQueue(UserActions, WorkerSide):
    """Enqueue, inspect, cancel and retry jobs; claim and settle them for workers."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_seconds: float = 30.0,
        default_max_attempts: int = 3,
        limits: Mapping[str, ProviderLimit] | None = None,
        clock: Clock = system_clock,
        registry: HandlerRegistry | None = None,
    ) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.default_max_attempts = default_max_attempts
        self.limits = dict(limits or {})
        self.clock = clock
        self.registry = registry
        self._listeners: list[tuple[Callable[[], None], bool]] = []
        self._cancel_listeners: list[Callable[[list[int]], None]] = []
        self._enqueue_hooks: list[EnqueueHook] = []
        self._end_hooks: list[EndHook] = []

    @classmethod
    def from_settings(
        cls, engine: Engine, settings: Settings, registry: HandlerRegistry | None = None
    ) -> JobQueue:
        """A queue configured from settings (lease, attempts, provider limits)."""
        return cls(
            engine,
            lease_seconds=settings.job_lease_seconds,
            default_max_attempts=settings.job_max_attempts,
            limits=settings.effective_provider_limits(),
            registry=registry,
        )

    def add_listener(self, callback: Callable[[], None], *, new_work_only: bool = False) -> None:
        """Call ``callback`` (from any thread) after committed writes in this process.

        With ``new_work_only`` only after writes that make jobs claimable (enqueue,
        retry), so a worker is not woken by its own claims and completions.
        """
        self._listeners.append((callback, new_work_only))

    def add_cancel_listener(self, callback: Callable[[list[int]], None]) -> None:
        """Call ``callback(job_ids)`` after this process flags running jobs as cancelled."""
        self._cancel_listeners.append(callback)

    def add_enqueue_hook(self, hook: EnqueueHook) -> None:
        """Let ``hook(spec) -> spec`` check or complete every job spec before it is written.

        Hooks run in the order added, for top-level jobs and children alike; one that
        raises :class:`ValidationError` refuses the enqueue. Adding the same hook twice
        is a no-op.
        """
        if hook not in self._enqueue_hooks:
            self._enqueue_hooks.append(hook)

    def on_job_end(self, hook: EndHook) -> None:
        """Call ``hook(conn, events)`` for the jobs that ended in a transaction, inside it.

        ``events`` are the terminal status events (``job_id``, ``kind``, ``status``,
        ``created_at``, ...) about to be committed: whatever the hook writes on ``conn``
        commits or rolls back with the ends themselves. Adding the same hook twice is a
        no-op.
        """
        if hook not in self._end_hooks:
            self._end_hooks.append(hook)

    def _with_end_hooks(self, work: Callable[[Connection], T]) -> Callable[[Connection], T]:
        def run(conn: Connection) -> T:
            take_ended(conn)  # nothing left over from an earlier, failed try
            result = work(conn)
            ended = take_ended(conn)
            for hook in self._end_hooks if ended else ():
                hook(conn, ended)
            take_ended(conn)  # what the hooks' own writes ended is not theirs to see
            return result

        return run

    def _write(self, work: Callable[[Connection], T], *, new_work: bool = False) -> T:
        result = in_write_tx(self.engine, self._with_end_hooks(work))
        if new_work:
            self._new_work_committed()
        else:
            for callback, new_work_only in self._listeners:
                if not new_work_only:
                    callback()
        return result

    # --- enqueue -----------------------------------------------------------------
    def _row(self, spec: JobSpec, now: datetime) -> dict[str, Any]:
        if not spec.kind:
            raise ValidationError("a job needs a kind", field="kind")
        for hook in self._enqueue_hooks:
            spec = hook(spec)
        defaults = self.registry.get(spec.kind) if self.registry else None
        if defaults is not None:
            # Refused here, not by a worker's KeyError later: the schema is the contract.
            defaults.check_payload(dict(spec.payload))
        if not rules.PRIORITY_MIN <= spec.priority <= rules.PRIORITY_MAX:
            raise ValidationError(
                f"priority must be between {rules.PRIORITY_MIN} and {rules.PRIORITY_MAX}",
                field="priority",
            )
        owner_id = spec.owner_id  # named by whoever queues it; None: the operator
        max_attempts = spec.max_attempts or (defaults.max_attempts if defaults else None)
        return {
            "kind": spec.kind,
            "queue": spec.queue or "default",
            "status": rules.QUEUED,
            "payload": dict(spec.payload),
            "webhook_url": spec.webhook_url,
            "error_log": [],
            "progress": 0.0,
            "attempts": 0,
            "max_attempts": max(1, max_attempts or self.default_max_attempts),
            "priority": spec.priority,
            "timeout_seconds": spec.timeout_seconds or (defaults.timeout if defaults else None),
            "provider": spec.provider or (defaults.provider if defaults else None),
            "run_after": spec.run_after or now,
            # Keys are per owner: another user's key never hands back this owner's job.
            "idempotency_key": rules.scoped_key(owner_id, spec.idempotency_key),
            "cancel_requested": False,
            "parent_id": spec.parent_id,
            "owner_id": owner_id,
            "label": spec.label,
            "stage": "run",
            "finalizer": False,
            "created_at": now,
            "updated_at": now,
        }

    def _insert_keyed(self, conn: Connection, row: dict[str, Any]) -> tuple[Any, bool]:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # The partial unique index decides races: whoever inserts second gets nothing
        # back and reads the job that won.
        stmt = (
            dialect.insert(JOBS)
            .values(**row)
            .on_conflict_do_nothing(
                index_elements=["idempotency_key"], index_where=ACTIVE_KEY_WHERE
            )
            .returning(*JOBS.c)
        )
        for _ in range(5):
            created = conn.execute(stmt).first()
            if created is not None:
                return created, True
            existing = conn.execute(
                select(JOBS).where(
                    JOBS.c.idempotency_key == row["idempotency_key"],
                    JOBS.c.status.in_([rules.QUEUED, rules.RUNNING]),
                )
            ).first()
            if existing is not None:
                return existing, False
        raise Conflict(f"could not enqueue job with key {row['idempotency_key']!r}")

    def _enqueue_in(
        self, conn: Connection, rows: Sequence[dict[str, Any]], now: datetime
    ) -> list[JobView]:
        out: list[Any] = [None] * len(rows)
        fresh: list[Any] = []
        plain = [i for i, row in enumerate(rows) if not row["idempotency_key"]]
        notified: set[str] = set()
        if plain:
            # On PostgreSQL the wake-up rides on the insert (delivered at commit, once per
            # channel and payload): one round trip less per enqueue.
            wake = conn.dialect.name == "postgresql"
            woken = [func.pg_notify(JOBS_CHANNEL, JOBS.c.queue).label("woken")] if wake else []
            created = conn.execute(
                insert(JOBS).returning(*JOBS.c, *woken, sort_by_parameter_order=True),
                [rows[i] for i in plain],
            ).all()
            for i, row in zip(plain, created, strict=True):
                out[i] = row
            fresh.extend(created)
            notified = {row.queue for row in created} if wake else set()
        for i, values in enumerate(rows):
            if values["idempotency_key"]:
                out[i], is_new = self._insert_keyed(conn, dict(values))
                if is_new:
                    fresh.append(out[i])
        add_events(conn, [event_row(r, rules.QUEUED, now) for r in fresh])
        for queue in {r.queue for r in fresh} - notified:
            notify(conn, JOBS_CHANNEL, queue)
        return [JobView.from_row(r) for r in out]

    def enqueue_many(self, specs: Sequence[JobSpec]) -> list[JobView]:
        """Enqueue several jobs in one transaction; keyed ones may return existing jobs."""
        if not specs:
            return []
        now = self.clock()
        rows = [self._row(spec, now) for spec in specs]
        return self._write(lambda conn: self._enqueue_in(conn, rows, now), new_work=True)

    def enqueue(
        self, kind: str, payload: Mapping[str, Any] | None = None, **options: Any
    ) -> JobView:
        """Enqueue one job (options as in :class:`JobSpec`)."""
        return self.enqueue_many([JobSpec(kind=kind, payload=dict(payload or {}), **options)])[0]

    # --- reading -----------------------------------------------------------------
    def get(self, job_id: int) -> JobView:
        """One job; :class:`NotFound` when the id is unknown."""
        with self.engine.connect() as conn:
            row = conn.execute(select(JOBS).where(JOBS.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return JobView.from_row(row)

    def runs(self, job_id: int) -> list[RunView]:
        """The attempts at a job, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(RUNS).where(RUNS.c.job_id == job_id).order_by(RUNS.c.id)
            ).all()
        return [RunView.from_row(r) for r in rows]

    def list_jobs(
        self,
        caller: Principal,
        *,
        status: str | Sequence[str] | None = None,
        kind: str | Sequence[str] | None = None,
        parent_id: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[JobView], str | None]:
        """Jobs ``caller`` may see, newest first, filtered (a status or kind, or any of
        several): a page and the next cursor."""
        limit = max(1, min(limit, MAX_PAGE))
        query = select(JOBS)
        for column, wanted in ((JOBS.c.status, status), (JOBS.c.kind, kind)):
            if wanted:
                one = isinstance(wanted, str)
                query = query.where(column == wanted if one else column.in_(list(wanted)))
        if parent_id is not None:
            query = query.where(JOBS.c.parent_id == parent_id)
        query = query.where(*owned_by(JOBS.c.owner_id, caller))
        if cursor:
            query = query.where(JOBS.c.id < decode_cursor(cursor))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(JOBS.c.id.desc()).limit(limit + 1)).all()
        return JOB_CURSORS.page([JobView.from_row(r) for r in rows], limit, lambda j: j.id)

    def stats(self) -> dict[str, Any]:
        """Jobs by status and by kind and status; runs by outcome."""
        with self.engine.connect() as conn:
            by_status = conn.execute(
                select(JOBS.c.status, func.count()).group_by(JOBS.c.status)
            ).all()
            by_kind = conn.execute(
                select(JOBS.c.kind, JOBS.c.status, func.count()).group_by(
                    JOBS.c.kind, JOBS.c.status
                )
            ).all()
            runs = conn.execute(select(RUNS.c.outcome, func.count()).group_by(RUNS.c.outcome)).all()
        kinds: dict[str, dict[str, int]] = {}
        for kind, status, count in by_kind:
            kinds.setdefault(kind, {})[status] = count
        return {
            "jobs_by_status": dict(by_status),
            "jobs_by_kind": kinds,
            "runs_by_outcome": dict(runs),
        }

    def events_after(
        self,
        after_id: int = 0,
        *,
        job_id: int | None = None,
        kind: str | None = None,
        parent_id: int | None = None,
        limit: int = 500,
    ) -> list[EventView]:
        """Events with an id above ``after_id``, in order, optionally filtered."""
        query = select(EVENTS).where(EVENTS.c.id > after_id)
        if job_id is not None:
            query = query.where(EVENTS.c.job_id == job_id)
        if kind:
            query = query.where(EVENTS.c.kind == kind)
        if parent_id is not None:
            query = query.where(EVENTS.c.parent_id == parent_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(EVENTS.c.id).limit(limit)).all()
        return [EventView.from_row(r) for r in rows]

    def spawn(self, parent_id: int, children: Sequence[JobSpec]) -> list[JobView]:
        """Enqueue children of ``parent_id`` (they inherit its owner)."""
        parent = self.get(parent_id)
        specs = [
            replace(c, parent_id=parent_id, owner_id=c.owner_id or parent.owner_id)
            for c in children
        ]
        return self.enqueue_many(specs)

    def spawn_in(
        self, session: Session, parent_id: int, children: Sequence[JobSpec]
    ) -> list[JobView]:
        """Enqueue children of ``parent_id`` inside the caller's unit of work.

        Their rows commit or roll back with the caller's own writes (a recorded result
        and the job that continues from it land together). Workers are woken when that
        commit happens (PostgreSQL listeners by NOTIFY, this process's workers by the
        session's ``after_commit`` event), and not at all if it rolls back.
        """
        if not children:
            return []
        conn = session.connection()
        owner = conn.execute(select(JOBS.c.owner_id).where(JOBS.c.id == parent_id)).first()
        if owner is None:
            raise NotFound(f"job {parent_id} not found")
        now = self.clock()
        rows = [
            self._row(replace(c, parent_id=parent_id, owner_id=c.owner_id or owner.owner_id), now)
            for c in children
        ]
        views = self._enqueue_in(conn, rows, now)
        after_commit(session, id(self), self._new_work_committed)
        return views

    def _new_work_committed(self) -> None:
        for callback, _ in self._listeners:
            callback()

    def children_summary(self, parent_id: int) -> ChildrenSummary:
        """The children of ``parent_id`` with their aggregate status and error log."""
        children, _ = self.list_jobs(OPERATOR, parent_id=parent_id, limit=MAX_PAGE)
        children.sort(key=lambda c: c.id)
        end = parent_end(children)
        return ChildrenSummary(status=end.status, children=children, error_log=end.error_log)
