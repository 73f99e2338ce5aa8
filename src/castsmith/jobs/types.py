"""Value types the job engine hands around: what to enqueue, what a job looks like."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from castsmith.domain.jobs import unscoped_key
from castsmith.domain.times import as_utc


@dataclass(frozen=True)
class JobSpec:
    """Everything needed to enqueue one job. ``None`` fields take the engine defaults."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    run_after: datetime | None = None
    max_attempts: int | None = None
    timeout_seconds: float | None = None
    parent_id: int | None = None
    provider: str | None = None
    queue: str = "default"
    #: The user the job acts for (its handler sees only what they may); ``None`` is the
    #: operator. Product code names it from its caller: the queue never guesses.
    owner_id: int | None = None
    idempotency_key: str | None = None
    label: str | None = None
    #: Where to POST the job's end (completed, failed, cancelled); see castsmith.webhooks.
    webhook_url: str | None = None


@dataclass(frozen=True)
class JobView:
    """A job as users see it."""

    id: int
    kind: str
    queue: str
    status: str
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    error_log: list[dict[str, Any]]
    progress: float
    progress_message: str | None
    attempts: int
    max_attempts: int
    priority: int
    timeout_seconds: float | None
    provider: str | None
    worker_id: str | None
    run_after: datetime | None
    lease_until: datetime | None
    idempotency_key: str | None
    cancel_requested: bool
    parent_id: int | None
    owner_id: int | None
    label: str | None
    stage: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None
    webhook_url: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> JobView:
        """Build from a ``jobs`` row mapping."""
        m = row._mapping if hasattr(row, "_mapping") else row
        return cls(
            id=m["id"],
            kind=m["kind"],
            queue=m["queue"],
            status=m["status"],
            payload=m["payload"] or {},
            result=m["result"],
            error=m["error"],
            error_log=m["error_log"] or [],
            progress=m["progress"] or 0.0,
            progress_message=m["progress_message"],
            attempts=m["attempts"],
            max_attempts=m["max_attempts"],
            priority=m["priority"],
            timeout_seconds=m["timeout_seconds"],
            provider=m["provider"],
            worker_id=m["worker_id"],
            run_after=as_utc(m["run_after"]),
            lease_until=as_utc(m["lease_until"]),
            idempotency_key=unscoped_key(m["idempotency_key"]),
            cancel_requested=bool(m["cancel_requested"]),
            parent_id=m["parent_id"],
            owner_id=m["owner_id"],
            label=m["label"],
            stage=m["stage"],
            created_at=as_utc(m["created_at"]),
            started_at=as_utc(m["started_at"]),
            finished_at=as_utc(m["finished_at"]),
            updated_at=as_utc(m["updated_at"]),
            webhook_url=m.get("webhook_url"),
        )


@dataclass(frozen=True)
class RunView:
    """One attempt at a job."""

    id: int
    job_id: int
    attempt: int
    worker_id: str
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str
    error: str | None

    @classmethod
    def from_row(cls, row: Any) -> RunView:
        """Build from a ``job_runs`` row."""
        m = row._mapping
        return cls(
            id=m["id"],
            job_id=m["job_id"],
            attempt=m["attempt"],
            worker_id=m["worker_id"],
            started_at=as_utc(m["started_at"]),
            finished_at=as_utc(m["finished_at"]),
            outcome=m["outcome"],
            error=m["error"],
        )


@dataclass(frozen=True)
class EventView:
    """One entry of the event stream."""

    id: int
    job_id: int
    kind: str
    parent_id: int | None
    event: str
    status: str
    progress: float
    message: str | None
    data: dict[str, Any] | None
    created_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> EventView:
        """Build from a ``job_events`` row."""
        m = row._mapping
        return cls(
            id=m["id"],
            job_id=m["job_id"],
            kind=m["kind"],
            parent_id=m["parent_id"],
            event=m["event"],
            status=m["status"],
            progress=m["progress"] or 0.0,
            message=m["message"],
            data=m["data"],
            created_at=as_utc(m["created_at"]),
        )


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker has just claimed, with the run row recording this attempt."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    run_id: int
    parent_id: int | None
    owner_id: int | None
    provider: str | None
    timeout_seconds: float | None
    stage: str
    queue: str
    checkpoint: dict[str, Any] | None = None


@dataclass(frozen=True)
class WaitForChildren:
    """Returned by a handler that spawned children: the job waits until they end."""


@dataclass(frozen=True)
class ChildrenSummary:
    """What a finalizer hook sees once every child of a job has ended."""

    status: str
    children: list[JobView]
    error_log: list[dict[str, Any]]
