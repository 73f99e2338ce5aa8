"""The cost ledger: one row per provider call, with what it used and what it cost.

Kept apart from :mod:`castsmith.db.models` (which imports it, so the table is always in
the metadata). The ids (job, actor, persona task, owner) are plain columns, not foreign
keys: the ledger is a bill and outlives the jobs, actors and tasks it names (jobs are
pruned after weeks, actors soft-deleted), so a total for last month still adds up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from castsmith.db.base import Base, BigId, JSONType, utcnow


class ProviderCall(Base):
    """One call to a provider: who and what it was for, how it ended, usage and cost.

    ``usage`` holds what the provider reported (RunPod ``executionTime``/``delayTime``
    in ms, Replicate ``predict_time`` in s, image counts, sizes) plus ``elapsed``, our
    own clock. ``seconds`` is the time the cost was computed from: the provider's
    figure where it gave one, else ``elapsed``.
    """

    __tablename__ = "provider_calls"
    __table_args__ = (Index("ix_provider_calls_owner_created", "owner_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    job_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    persona_task_id: Mapped[str | None] = mapped_column(String(64), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    remote_id: Mapped[str | None] = mapped_column(String(512))
    usage: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    seconds: Mapped[float | None] = mapped_column(Float)
    images: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
