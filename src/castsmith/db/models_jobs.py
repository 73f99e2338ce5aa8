"""The job engine's tables: jobs, their runs and events, and periodic task runs.

Kept apart from :mod:`castsmith.db.models` (which imports and re-exports them, so
``from castsmith.db.models import Job`` keeps working and the tables are always in the
metadata) because the queue's tables form one group of their own; both build on
:mod:`castsmith.db.base`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from castsmith.db.base import Base, BigId, JSONType, Timestamped, utcnow


class Job(Timestamped, Base):
    """A unit of work in the durable queue; the row users see."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "queue", "priority", "run_after"),
        # Jobs lists filtered by status (newest first) and retention (oldest first).
        Index("ix_jobs_status_id", "status", "id"),
        Index(
            "uq_jobs_active_idempotency_key",
            "idempotency_key",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    queue: Mapped[str] = mapped_column(String(50), default="default")
    status: Mapped[str] = mapped_column(String(30), default="queued")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    error_log: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # What a handler recorded before waiting on remote work (say, the remote job id),
    # so a later attempt resumes that work instead of starting (and paying) again.
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Where to POST the job's end (the webhooks room reads it through the engine's hook).
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    progress_message: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    timeout_seconds: Mapped[float | None] = mapped_column(Float)
    provider: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker_id: Mapped[str | None] = mapped_column(String(200))
    run_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A short name for a child within its parent, shown in the parent's error log.
    label: Mapped[str | None] = mapped_column(String(200))
    # "run" runs the handler; "finalize" runs the kind's hook once the children ended.
    stage: Mapped[str] = mapped_column(String(20), default="run", server_default="run")
    finalizer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class JobRun(Base):
    """One attempt at a job."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(30), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    # Copied from the job so rate limits can count recent starts per provider cheaply.
    provider: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_job_runs_provider_started", "provider", "started_at"),)


class JobEvent(Base):
    """A status change or progress report of a job, in the order it happened."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(BigId)
    event: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


class PeriodicRun(Base):
    """One run of a periodic task for one period; the unique key elects one worker."""

    __tablename__ = "periodic_runs"
    __table_args__ = (UniqueConstraint("name", "period_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    worker_id: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
