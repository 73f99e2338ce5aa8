"""The LoRA trainings table: one row per LoRA version of an actor, trained or imported.

Kept apart from :mod:`castsmith.db.models` (which imports it, so the table is always in
the metadata) because it is one feature's table with many columns; both build on
:mod:`castsmith.db.base`.
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

from castsmith.db.base import Base, BigId, JSONType, Timestamped, utcnow


class LoraTraining(Timestamped, Base):
    """One LoRA version: what it was trained on and with, where it ran, what came out.

    ``version`` numbers an actor's LoRAs from 1 and names the weights file; at most one
    row per actor is current (the one the actor's LoRA fields point at).
    """

    __tablename__ = "lora_trainings"
    __table_args__ = (
        UniqueConstraint("actor_id", "version"),
        Index(
            "uq_lora_trainings_current",
            "actor_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="trained")
    provider: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    trigger_word: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Each image's key, md5 and caption as they were when the training started.
    dataset: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    dataset_key: Mapped[str | None] = mapped_column(String(1024))
    dataset_md5: Mapped[str | None] = mapped_column(String(32))
    dataset_size: Mapped[int | None] = mapped_column(BigInteger)
    remote_id: Mapped[str | None] = mapped_column(String(200))
    remote: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    logs: Mapped[list[str]] = mapped_column(JSONType, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    usage: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    weights_key: Mapped[str | None] = mapped_column(String(1024), unique=True)
    weights_size: Mapped[int | None] = mapped_column(BigInteger)
    weights_sha256: Mapped[str | None] = mapped_column(String(64))
    strength: Mapped[float] = mapped_column(Float, default=0.8)
    test_grid: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    # Indexed so deleting an ended job does not scan this table for links to clear.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    grid_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    poster_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
