"""Asset rows: one per stored object, with its hashes and provenance."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, AssetRendition
from castsmith.domain.errors import NotFound


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

    def delete(self, asset: Asset) -> None:
        """Remove the row (its renditions go with it)."""
        self.session.delete(asset)
        self.session.flush()
