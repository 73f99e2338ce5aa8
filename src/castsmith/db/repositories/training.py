"""Training data rows: number reservation, listing, statistics, reject and restore.

A training image gets its number ``n`` (and so its file name and object key) *before*
anything is uploaded: :meth:`TrainingRepository.reserve` inserts a ``pending`` item and
a placeholder asset row in one transaction. The unique ``(actor_id, n)`` and the unique
asset key make two writers that pick the same number collide in the database, never in
the object store; the loser simply tries the next number. :meth:`finalize` fills in the
real file facts and flips the item to ``synced``; :meth:`release` removes a reservation
whose image failed. ``pending`` items are invisible to listings and statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from castsmith.db.models import Actor, Asset, TrainingDataItem, utcnow
from castsmith.domain.errors import NotFound

PENDING = "pending"
SYNCED = "synced"
REJECTED = "rejected"
TRAINING_ASSET_KIND = "training_image"


@dataclass(frozen=True)
class Reservation:
    """A reserved training image number and the rows that hold it."""

    item_id: int
    asset_id: int
    n: int
    key: str
    filename: str


@dataclass(frozen=True)
class TrainingStats:
    """Counts over an actor's visible training images."""

    images: int
    synced: int
    rejected: int
    updated: datetime | None


@dataclass(frozen=True)
class FileFacts:
    """What was actually uploaded for a reservation."""

    size_bytes: int
    md5: str
    sha256: str
    width: int | None
    height: int | None
    content_type: str = "image/jpeg"


class TrainingRepository:
    """Queries over ``training_data_items`` (and their assets); never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- reservation ------------------------------------------------------------------
    def next_number(self, actor_id: int, floor: int = 0) -> int:
        """One above the highest ``n`` the actor has (any status) and above ``floor``."""
        highest = self.session.scalar(
            select(func.max(TrainingDataItem.n)).where(TrainingDataItem.actor_id == actor_id)
        )
        return max(highest or 0, floor) + 1

    def lock_actor(self, actor_id: int) -> Actor:
        """Lock the actor row (PostgreSQL) so reservations for one actor queue up."""
        actor = self.session.scalars(
            select(Actor).where(Actor.id == actor_id).with_for_update()
        ).first()
        if actor is None:
            raise NotFound(f"actor {actor_id} not found")
        return actor

    def reserve(
        self,
        actor_id: int,
        n: int,
        key_for: Callable[[int], str],
        *,
        prompt: str | None,
        prompt_id: str | None,
        job_id: int | None,
    ) -> Reservation:
        """Insert a pending item numbered ``n`` and its placeholder asset; flush.

        Raises ``IntegrityError`` when ``n`` or its key is already taken.
        """
        key = key_for(n)
        filename = key.rsplit("/", 1)[-1]
        asset = Asset(
            storage_key=key,
            kind=TRAINING_ASSET_KIND,
            content_type="image/jpeg",
            size_bytes=0,
            md5="",
            sha256="",
            prompt=prompt,
            meta={"actor_id": actor_id, "pending": True},
        )
        self.session.add(asset)
        self.session.flush()
        item = TrainingDataItem(
            actor_id=actor_id,
            n=n,
            filename=filename,
            asset_id=asset.id,
            prompt=prompt,
            prompt_id=prompt_id,
            status=PENDING,
            job_id=job_id,
        )
        self.session.add(item)
        self.session.flush()
        return Reservation(item.id, asset.id, n, key, filename)

    def pending_for_job(self, actor_id: int, job_id: int) -> Reservation | None:
        """A reservation an earlier attempt of ``job_id`` left behind, to reuse."""
        row = self.session.execute(
            select(TrainingDataItem, Asset)
            .join(Asset, Asset.id == TrainingDataItem.asset_id)
            .where(
                TrainingDataItem.actor_id == actor_id,
                TrainingDataItem.job_id == job_id,
                TrainingDataItem.status == PENDING,
            )
        ).first()
        if row is None:
            return None
        item, asset = row
        return Reservation(item.id, asset.id, item.n, asset.storage_key, item.filename)

    def stored_for_job(self, actor_id: int, job_id: int) -> TrainingDataItem | None:
        """The image an earlier attempt of ``job_id`` already stored (any status but
        ``pending``), so that attempt's retry does not store it twice."""
        return self.session.scalars(
            select(TrainingDataItem).where(
                TrainingDataItem.actor_id == actor_id,
                TrainingDataItem.job_id == job_id,
                TrainingDataItem.status != PENDING,
            )
        ).first()

    def finalize(
        self, reservation: Reservation, facts: FileFacts, provenance: dict[str, Any]
    ) -> TrainingDataItem:
        """Record the uploaded file on the reserved rows and mark the item ``synced``."""
        item = self.session.get(TrainingDataItem, reservation.item_id)
        asset = self.session.get(Asset, reservation.asset_id)
        if item is None or asset is None:
            raise NotFound(f"training image reservation {reservation.n} vanished")
        asset.size_bytes = facts.size_bytes
        asset.md5 = facts.md5
        asset.sha256 = facts.sha256
        asset.width = facts.width
        asset.height = facts.height
        asset.content_type = facts.content_type
        for name in ("provider", "model", "seed", "provider_job_id", "parent_asset_id"):
            if provenance.get(name) is not None:
                setattr(asset, name, provenance[name])
        meta = dict(provenance.get("meta") or {})
        meta.update({"actor_id": item.actor_id, "modified_timestamp": utcnow().timestamp()})
        asset.meta = meta
        item.status = SYNCED
        item.updated_at = utcnow()
        self.session.flush()
        return item

    def release(self, reservation: Reservation) -> None:
        """Drop a reservation whose image failed: no entry stays behind."""
        self.session.execute(
            delete(TrainingDataItem).where(TrainingDataItem.id == reservation.item_id)
        )
        self.session.execute(delete(Asset).where(Asset.id == reservation.asset_id))
        self.session.flush()

    def stale_pending(self, actor_id: int, before: datetime) -> list[Reservation]:
        """Reservations older than ``before`` (left by a crashed worker)."""
        rows = self.session.execute(
            select(TrainingDataItem, Asset)
            .join(Asset, Asset.id == TrainingDataItem.asset_id)
            .where(
                TrainingDataItem.actor_id == actor_id,
                TrainingDataItem.status == PENDING,
                TrainingDataItem.created_at < before,
            )
        ).all()
        return [
            Reservation(item.id, asset.id, item.n, asset.storage_key, item.filename)
            for item, asset in rows
        ]

    # --- reading ------------------------------------------------------------------------
    def items(
        self, actor_id: int, *, include_rejected: bool = True
    ) -> Sequence[tuple[TrainingDataItem, Asset]]:
        """Visible items of an actor with their assets, in number order."""
        statuses = [SYNCED, REJECTED] if include_rejected else [SYNCED]
        query = (
            select(TrainingDataItem, Asset)
            .join(Asset, Asset.id == TrainingDataItem.asset_id)
            .where(TrainingDataItem.actor_id == actor_id, TrainingDataItem.status.in_(statuses))
            .order_by(TrainingDataItem.n)
        )
        return [(item, asset) for item, asset in self.session.execute(query).all()]

    def get(self, actor_id: int, item_id: int) -> TrainingDataItem:
        """A visible item of the actor; ``NotFound`` otherwise."""
        item = self.session.get(TrainingDataItem, item_id)
        if item is None or item.actor_id != actor_id or item.status == PENDING:
            raise NotFound(f"training image {item_id} of actor {actor_id} not found")
        return item

    def done_prompt_ids(self, actor_id: int) -> set[str]:
        """Prompt ids that already have a non-rejected (or in-flight) item."""
        rows = self.session.scalars(
            select(TrainingDataItem.prompt_id).where(
                TrainingDataItem.actor_id == actor_id,
                TrainingDataItem.status != REJECTED,
                TrainingDataItem.prompt_id.is_not(None),
            )
        )
        return {row for row in rows if row}

    def stats(self, actor_id: int) -> TrainingStats:
        """Counts by status and the time of the latest change."""
        rows = self.session.execute(
            select(
                TrainingDataItem.status,
                func.count(),
                func.max(TrainingDataItem.updated_at),
            )
            .where(TrainingDataItem.actor_id == actor_id, TrainingDataItem.status != PENDING)
            .group_by(TrainingDataItem.status)
        ).all()
        counts = {status: count for status, count, _ in rows}
        latest = [when for _, _, when in rows if when is not None]
        synced = counts.get(SYNCED, 0)
        return TrainingStats(
            images=synced,
            synced=synced,
            rejected=counts.get(REJECTED, 0),
            updated=max(latest) if latest else None,
        )

    # --- changing -----------------------------------------------------------------------
    def set_status(self, actor_id: int, item_id: int, status: str) -> TrainingDataItem:
        """Reject or restore an item (the object is never touched)."""
        item = self.get(actor_id, item_id)
        item.status = status
        item.updated_at = utcnow()
        self.session.flush()
        return item
