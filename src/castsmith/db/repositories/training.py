"""Training data rows: numbering, listing, statistics, reject and restore.

A training image gets its number ``n`` (and so its file name and object key) *before*
anything is uploaded: the asset writer reserves the key with a hidden asset row, and
:meth:`TrainingRepository.hold` adds a ``pending`` item numbered ``n`` in the same
transaction. The unique ``(actor_id, n)`` and the unique asset key make two writers
that pick the same number collide in the database, never in the object store.
:meth:`mark_stored` flips the item to ``synced`` once the file is recorded.
``pending`` items are invisible to listings and statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from castsmith.db.models import Actor, Asset, TrainingDataItem, utcnow
from castsmith.domain.errors import NotFound

PENDING = "pending"
SYNCED = "synced"
REJECTED = "rejected"
TRAINING_ASSET_KIND = "training_image"


@dataclass(frozen=True)
class TrainingStats:
    """Counts over an actor's visible training images."""

    images: int
    synced: int
    rejected: int
    updated: datetime | None


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

    def hold(
        self,
        actor_id: int,
        n: int,
        asset_id: int,
        filename: str,
        *,
        prompt: str | None,
        prompt_id: str | None,
        job_id: int | None,
    ) -> TrainingDataItem:
        """Insert the ``pending`` item numbered ``n`` for a reserved asset; flush.

        Raises ``IntegrityError`` when the actor already has an item numbered ``n``.
        """
        item = TrainingDataItem(
            actor_id=actor_id,
            n=n,
            filename=filename,
            asset_id=asset_id,
            prompt=prompt,
            prompt_id=prompt_id,
            status=PENDING,
            job_id=job_id,
        )
        self.session.add(item)
        self.session.flush()
        return item

    def release(self, asset_ids: Sequence[int]) -> None:
        """Drop the pending items held for ``asset_ids`` (their image failed)."""
        self.session.execute(
            delete(TrainingDataItem).where(
                TrainingDataItem.asset_id.in_(list(asset_ids)), TrainingDataItem.status == PENDING
            )
        )

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

    def mark_stored(self, asset_id: int) -> TrainingDataItem:
        """The item held for ``asset_id``, now recorded: ``synced``, dated on its asset."""
        item = self.session.scalars(
            select(TrainingDataItem).where(TrainingDataItem.asset_id == asset_id)
        ).one()
        asset = self.session.get(Asset, asset_id)
        if asset is not None:
            asset.meta = {**(asset.meta or {}), "modified_timestamp": utcnow().timestamp()}
        item.status = SYNCED
        item.updated_at = utcnow()
        self.session.flush()
        return item

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
