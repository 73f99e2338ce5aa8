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


# Predicates of the live-actor partial indexes; the actors repository's conditions
# spell the same tests, which is what lets PostgreSQL use them.
LIVE = "deleted_at IS NULL"
LIVE_WITH_LORA = "deleted_at IS NULL AND (lora_model_url IS NOT NULL OR lora_name IS NOT NULL)"


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
        # Live actors only: a listing filtered by these (and the count of its total)
        # reads the index alone on PostgreSQL instead of the table (migration 0014).
        Index(
            "ix_actors_live_lora",
            "id",
            sqlite_where=text(LIVE_WITH_LORA),
            postgresql_where=text(LIVE_WITH_LORA),
        ),
        Index(
            "ix_actors_live_sex_type",
            "sex",
            "actor_type",
            "id",
            sqlite_where=text(LIVE),
            postgresql_where=text(LIVE),
        ),
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


# Feature tables kept in their own modules; imported here so every table is in Base.metadata.
from castsmith.db.models_auth import RevokedSession  # noqa: E402, F401
from castsmith.db.models_costs import ProviderCall  # noqa: E402, F401
from castsmith.db.models_curation import ImageCheck as ImageCheck  # noqa: E402
from castsmith.db.models_jobs import Job as Job  # noqa: E402
from castsmith.db.models_jobs import JobEvent as JobEvent  # noqa: E402
from castsmith.db.models_jobs import JobRun as JobRun  # noqa: E402
from castsmith.db.models_jobs import PeriodicRun as PeriodicRun  # noqa: E402
from castsmith.db.models_lora import LoraTraining  # noqa: E402, F401
