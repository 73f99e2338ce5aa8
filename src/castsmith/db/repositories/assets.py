"""Asset rows: one per stored object, with its hashes and provenance."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.db.models import (
    Actor,
    Asset,
    AssetRendition,
    CharacterReference,
    PersonaResult,
    PersonaTask,
    TrainingDataItem,
)
from castsmith.domain.errors import NotFound

# Large enough to keep round trips few, small enough for every driver's parameter limit.
IN_BATCH = 500
# A persona's five images: its base selfie and the four split from its grid.
PERSONA_ASSETS = (
    PersonaResult.base_image_asset_id,
    PersonaResult.image_0_asset_id,
    PersonaResult.image_1_asset_id,
    PersonaResult.image_2_asset_id,
    PersonaResult.image_3_asset_id,
)


class AssetRepository:
    """Queries over ``assets`` and ``asset_renditions``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, asset: Asset) -> Asset:
        """Insert ``asset`` and flush so it has an id."""
        self.session.add(asset)
        self.session.flush()
        return asset

    def get(self, asset_id: int) -> Asset:
        """The asset with ``asset_id``; ``NotFound`` when there is none."""
        asset = self.session.get(Asset, asset_id)
        if asset is None:
            raise NotFound(f"asset {asset_id} not found")
        return asset

    def by_key(self, storage_key: str) -> Asset | None:
        """The asset stored under ``storage_key``, if any."""
        return self.session.scalars(select(Asset).where(Asset.storage_key == storage_key)).first()

    def keys_taken(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` are already recorded as assets or renditions."""
        wanted = list(keys)
        if not wanted:
            return set()
        taken = set(
            self.session.scalars(select(Asset.storage_key).where(Asset.storage_key.in_(wanted)))
        )
        taken.update(
            self.session.scalars(
                select(AssetRendition.storage_key).where(AssetRendition.storage_key.in_(wanted))
            )
        )
        return taken

    def renditions(self, asset_ids: Iterable[int]) -> dict[int, list[AssetRendition]]:
        """Renditions of each asset in ``asset_ids``, keyed by asset id."""
        ids = list(asset_ids)
        found: dict[int, list[AssetRendition]] = {asset_id: [] for asset_id in ids}
        if not ids:
            return found
        rows = self.session.scalars(select(AssetRendition).where(AssetRendition.asset_id.in_(ids)))
        for row in rows:
            found[row.asset_id].append(row)
        return found

    def rendition(self, asset_id: int, name: str) -> AssetRendition | None:
        """The rendition ``name`` of ``asset_id``, if it was made."""
        return self.session.scalars(
            select(AssetRendition).where(
                AssetRendition.asset_id == asset_id, AssetRendition.name == name
            )
        ).first()

    def rendition_keys(self, asset_ids: Iterable[int], name: str) -> dict[int, str]:
        """Storage keys of the ``name`` renditions of ``asset_ids`` (those that have one)."""
        ids = list(dict.fromkeys(asset_ids))
        found: dict[int, str] = {}
        for start in range(0, len(ids), IN_BATCH):
            rows = self.session.execute(
                select(AssetRendition.asset_id, AssetRendition.storage_key).where(
                    AssetRendition.asset_id.in_(ids[start : start + IN_BATCH]),
                    AssetRendition.name == name,
                )
            )
            found.update({asset_id: key for asset_id, key in rows})
        return found

    def held_by(self, owner_id: int, asset_ids: Iterable[int]) -> set[int]:
        """Those of ``asset_ids`` that ``owner_id`` may see.

        Not every asset records its owner, so an asset is also theirs through what holds
        it: their actor's base image or training image, their persona's images, their
        reference. A new kind of holder must be added here.
        """
        ids = list(dict.fromkeys(asset_ids))
        found: set[int] = set()
        for start in range(0, len(ids), IN_BATCH):
            chunk = ids[start : start + IN_BATCH]
            queries = [
                select(Asset.id).where(Asset.id.in_(chunk), Asset.owner_id == owner_id),
                select(Actor.base_image_asset_id).where(
                    Actor.owner_id == owner_id, Actor.base_image_asset_id.in_(chunk)
                ),
                select(TrainingDataItem.asset_id)
                .join(Actor, Actor.id == TrainingDataItem.actor_id)
                .where(Actor.owner_id == owner_id, TrainingDataItem.asset_id.in_(chunk)),
                select(CharacterReference.asset_id).where(
                    CharacterReference.owner_id == owner_id, CharacterReference.asset_id.in_(chunk)
                ),
                *(
                    select(column)
                    .join(PersonaTask, PersonaTask.id == PersonaResult.task_id)
                    .where(PersonaTask.owner_id == owner_id, column.in_(chunk))
                    for column in PERSONA_ASSETS
                ),
            ]
            for query in queries:
                found.update(i for i in self.session.scalars(query) if i is not None)
        return found

    def delete(self, asset: Asset) -> None:
        """Remove the row (its renditions go with it)."""
        self.session.delete(asset)
        self.session.flush()
