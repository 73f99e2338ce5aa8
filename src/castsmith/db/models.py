"""The tables castsmith keeps, as SQLAlchemy 2 declarative models.

The same models run on SQLite and PostgreSQL: JSON columns use ``JSON`` with a JSONB
variant on PostgreSQL, timestamps are timezone-aware, and partial indexes are declared
for both dialects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
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

# Re-exported: callers import the base, the column types and utcnow from here.
from castsmith.db.base import Base as Base
from castsmith.db.base import BigId as BigId
from castsmith.db.base import JSONType as JSONType
from castsmith.db.base import Timestamped as Timestamped
from castsmith.db.base import utcnow as utcnow


def trigram_index(table: str, column: str) -> Index:
    """A PostgreSQL trigram index, so ``ILIKE '%text%'`` searches need no table scan.

    SQLite has no such index and scans; ``info["dialect"]`` tells the schema check
    that the index exists on PostgreSQL only.
    """
    index = Index(
        f"ix_{table}_{column}_trgm",
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        info={"dialect": "postgresql"},
    )
    return index.ddl_if(dialect="postgresql")


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20), default="user")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Timestamped, Base):
    """A bearer token of a user; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Asset(Timestamped, Base):
    """One stored object and where it came from."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(1024), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default="image")
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    provider_job_id: Mapped[str | None] = mapped_column(String(200))
    parent_asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AssetRendition(Timestamped, Base):
    """A derived file of an asset, such as the WebP sm/md/lg of a poster."""

    __tablename__ = "asset_renditions"
    __table_args__ = (UniqueConstraint("asset_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(20))
    storage_key: Mapped[str] = mapped_column(String(1024), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    md5: Mapped[str] = mapped_column(String(32))


class Actor(Timestamped, Base):
    """A character in the library."""

    __tablename__ = "actors"
    __table_args__ = (
        Index("ix_actors_sex", "sex"),
        Index("ix_actors_actor_type", "actor_type"),
        *(trigram_index("actors", column) for column in ("name", "description")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    actor_type: Mapped[str] = mapped_column(String(40), default="person")
    sex: Mapped[str | None] = mapped_column(String(20))
    age: Mapped[int | None] = mapped_column(Integer)
    ethnicity: Mapped[str | None] = mapped_column(String(80))
    style: Mapped[str | None] = mapped_column(String(80))
    lora_model_url: Mapped[str | None] = mapped_column(String(2048))
    lora_name: Mapped[str | None] = mapped_column(String(300))
    lora_trigger_word: Mapped[str | None] = mapped_column(String(200))
    lora_strength_model: Mapped[float] = mapped_column(Float, default=0.8)
    lora_strength_clip: Mapped[float] = mapped_column(Float, default=0.8)
    base_image_asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL")
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    legacy_id: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class PosterFrameVersion(Timestamped, Base):
    """One generated poster of an actor; exactly one per actor is current."""

    __tablename__ = "poster_frame_versions"
    __table_args__ = (
        UniqueConstraint("actor_id", "version"),
        Index(
            "uq_poster_frame_versions_current",
            "actor_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    # Indexed so deleting an ended job does not scan this table for links to clear.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class TrainingDataItem(Timestamped, Base):
    """One image of an actor's LoRA training set."""

    __tablename__ = "training_data_items"
    __table_args__ = (UniqueConstraint("actor_id", "n"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    n: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(300))
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    prompt: Mapped[str | None] = mapped_column(Text)
    prompt_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="synced")
    # Indexed so deleting an ended job does not scan this table for links to clear.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class PersonaTask(Timestamped, Base):
    """A request for a number of generated personas."""

    __tablename__ = "persona_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), unique=True)
    count: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(20), default="en_US")
    constraints: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(30), default="pending", index=True)
    error_log: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # Indexed so deleting an ended job does not scan this table for links to clear.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class PersonaResult(Timestamped, Base):
    """One persona of a task: its data and its five images."""

    __tablename__ = "persona_results"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("persona_tasks.id", ondelete="CASCADE"), index=True
    )
    firstname: Mapped[str] = mapped_column(String(120))
    lastname: Mapped[str] = mapped_column(String(120))
    age: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(30))
    location: Mapped[str | None] = mapped_column(String(200))
    occupation: Mapped[str | None] = mapped_column(String(200))
    bio: Mapped[str | None] = mapped_column(Text)
    image_prompt: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    base_image_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    image_0_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    image_1_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    image_2_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    image_3_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    # Indexed so deleting an ended job does not scan this table for links to clear.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )


class VideoJob(Timestamped, Base):
    """A video job known to castsmith: who owns its folder of files and references."""

    __tablename__ = "video_jobs"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class CharacterReference(Timestamped, Base):
    """A reference image for video jobs, standalone or attached to a video job."""

    __tablename__ = "character_references"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    aspect_ratio: Mapped[str] = mapped_column(String(10), default="1:1")
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    video_job_id: Mapped[str | None] = mapped_column(String(100), index=True)
    source_reference_id: Mapped[str | None] = mapped_column(
        ForeignKey("character_references.id", ondelete="SET NULL")
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The actor the reference was made for, if any; a deleted actor leaves it standalone.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), index=True
    )


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


# Feature tables kept in their own modules; imported here so every table is in Base.metadata.
from castsmith.db.models_auth import RevokedSession  # noqa: E402, F401
from castsmith.db.models_costs import ProviderCall  # noqa: E402, F401
from castsmith.db.models_curation import ImageCheck as ImageCheck  # noqa: E402
from castsmith.db.models_lora import LoraTraining  # noqa: E402, F401
