"""Poster frame versions: history, the next version number, and which one is current.

Every version keeps its own source asset and WebP renditions; exactly one version per
actor is current (a partial unique index enforces it). Changing the current version
locks the actor row first (PostgreSQL), so two concurrent changes for one actor run one
after the other instead of tripping over the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, AssetRendition, PosterFrameVersion
from castsmith.db.repositories.actors import ActorRepository
from castsmith.domain.access import Principal
from castsmith.domain.errors import NotFound


@dataclass(frozen=True)
class PosterRecord:
    """One version with its source asset and renditions by name (``sm``/``md``/``lg``)."""

    version: PosterFrameVersion
    asset: Asset
    renditions: dict[str, AssetRendition]


class PosterRepository:
    """Queries over ``poster_frame_versions`` and the assets they point at."""

    def __init__(self, session: Session, caller: Principal) -> None:
        self.session = session
        # Versions hang off actors: they are reached only through an actor the caller may.
        self.caller = caller

    def max_version(self, actor_id: int) -> int:
        """The highest version number recorded for the actor (0 when none)."""
        value = self.session.scalar(
            select(func.max(PosterFrameVersion.version)).where(
                PosterFrameVersion.actor_id == actor_id
            )
        )
        return int(value or 0)

    def _records(self, versions: list[PosterFrameVersion]) -> list[PosterRecord]:
        if not versions:
            return []
        asset_ids = [row.asset_id for row in versions]
        assets = {
            asset.id: asset
            for asset in self.session.scalars(select(Asset).where(Asset.id.in_(asset_ids)))
        }
        renditions: dict[int, dict[str, AssetRendition]] = {i: {} for i in asset_ids}
        for rendition in self.session.scalars(
            select(AssetRendition).where(AssetRendition.asset_id.in_(asset_ids))
        ):
            renditions[rendition.asset_id][rendition.name] = rendition
        return [
            PosterRecord(row, assets[row.asset_id], renditions[row.asset_id]) for row in versions
        ]

    def history(self, actor_id: int) -> list[PosterRecord]:
        """Every version of the actor's poster, newest first."""
        rows = list(
            self.session.scalars(
                select(PosterFrameVersion)
                .where(PosterFrameVersion.actor_id == actor_id)
                .order_by(PosterFrameVersion.version.desc())
            )
        )
        return self._records(rows)

    def get(self, actor_id: int, version: int) -> PosterRecord:
        """Version ``version`` of the actor's poster; ``NotFound`` when there is none."""
        row = self.session.scalars(
            select(PosterFrameVersion).where(
                PosterFrameVersion.actor_id == actor_id, PosterFrameVersion.version == version
            )
        ).first()
        if row is None:
            raise NotFound(f"actor {actor_id} has no poster frame version {version}")
        return self._records([row])[0]

    def current(self, actor_id: int) -> PosterRecord | None:
        """The current version, if the actor has a poster."""
        row = self.session.scalars(
            select(PosterFrameVersion).where(
                PosterFrameVersion.actor_id == actor_id, PosterFrameVersion.is_current
            )
        ).first()
        return self._records([row])[0] if row is not None else None

    def _clear_current(self, actor_id: int) -> None:
        self.session.execute(
            update(PosterFrameVersion)
            .where(PosterFrameVersion.actor_id == actor_id, PosterFrameVersion.is_current)
            .values(is_current=False)
        )

    def add_version(
        self,
        actor_id: int,
        version: int,
        asset_id: int,
        *,
        params: dict[str, Any],
        job_id: int | None = None,
        make_current: bool = True,
    ) -> PosterFrameVersion:
        """Insert a version (and make it current); the caller's transaction commits it.

        A clash on ``(actor_id, version)`` surfaces as ``IntegrityError`` so the caller
        can pick another number.
        """
        ActorRepository(self.session, self.caller).get_for_update(actor_id, include_deleted=True)
        if make_current:
            self._clear_current(actor_id)
        row = PosterFrameVersion(
            actor_id=actor_id,
            version=version,
            asset_id=asset_id,
            is_current=make_current,
            job_id=job_id,
            params=params,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def make_current(self, actor_id: int, version: int) -> PosterFrameVersion:
        """Make ``version`` the actor's current poster; ``NotFound`` when it does not exist."""
        ActorRepository(self.session, self.caller).get_for_update(actor_id)
        record = self.get(actor_id, version)
        if not record.version.is_current:
            self._clear_current(actor_id)
            self.session.execute(
                update(PosterFrameVersion)
                .where(PosterFrameVersion.id == record.version.id)
                .values(is_current=True)
            )
            self.session.refresh(record.version)
        return record.version
