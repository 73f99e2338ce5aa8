"""Asset rows: one per stored object, with its hashes and provenance."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
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

    def owners(self, asset: Asset) -> set[int | None]:
        """Every owner whose rows show ``asset``: its own, and those of the actor, persona
        task or character reference it belongs to.

        Training and persona images carry no owner of their own (their actor or task
        does), so the rows that point at the asset are asked too.
        """
        owners: set[int | None] = {asset.owner_id} if asset.owner_id is not None else set()
        persona_columns = (
            PersonaResult.base_image_asset_id,
            PersonaResult.image_0_asset_id,
            PersonaResult.image_1_asset_id,
            PersonaResult.image_2_asset_id,
            PersonaResult.image_3_asset_id,
        )
        queries = (
            select(Actor.owner_id)
            .join(TrainingDataItem, TrainingDataItem.actor_id == Actor.id)
            .where(TrainingDataItem.asset_id == asset.id),
            select(Actor.owner_id).where(Actor.base_image_asset_id == asset.id),
            select(PersonaTask.owner_id)
            .join(PersonaResult, PersonaResult.task_id == PersonaTask.id)
            .where(or_(*(column == asset.id for column in persona_columns))),
            select(CharacterReference.owner_id).where(CharacterReference.asset_id == asset.id),
        )
        for query in queries:
            owners.update(self.session.scalars(query))
        return owners

    def delete(self, asset: Asset) -> None:
        """Remove the row (its renditions go with it)."""
        self.session.delete(asset)
        self.session.flush()
