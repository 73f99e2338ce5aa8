"""Actor rows: lookups, keyset-paginated search, soft delete and purge."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from castsmith.db.models import (
    Actor,
    Asset,
    AssetRendition,
    PosterFrameVersion,
    TrainingDataItem,
)
from castsmith.db.owned import owned_by
from castsmith.domain import access
from castsmith.domain.access import Principal
from castsmith.domain.errors import Conflict, NotFound


@dataclass(frozen=True)
class ActorFilters:
    """What a listing asks for; ``None`` means "any"."""

    q: str | None = None
    actor_type: str | None = None
    sex: str | None = None
    has_lora: bool | None = None
    has_poster: bool | None = None
    owner_id: int | None = None
    deleted: bool = False
    """List soft-deleted actors instead of live ones."""


@dataclass(frozen=True)
class ActorPage:
    """One page of a listing; ``last_id`` is set when more rows follow."""

    items: list[Actor]
    total: int
    last_id: int | None


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: ActorFilters, caller: Principal) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [
        Actor.deleted_at.is_not(None) if filters.deleted else Actor.deleted_at.is_(None)
    ]
    if filters.q:
        pattern = _like_pattern(filters.q)
        conds.append(
            or_(
                Actor.name.ilike(pattern, escape="\\"),
                Actor.description.ilike(pattern, escape="\\"),
            )
        )
    if filters.actor_type:
        conds.append(Actor.actor_type == filters.actor_type)
    if filters.sex:
        conds.append(Actor.sex == filters.sex)
    if filters.owner_id is not None:
        conds.append(Actor.owner_id == filters.owner_id)
    # A user lists only their own actors, whatever the filters ask for.
    conds += owned_by(Actor.owner_id, caller)
    if filters.has_lora is not None:
        # Spelled as the predicate of ix_actors_live_lora, so PostgreSQL proves the
        # index covers this listing and counts its total from the index alone.
        lora = or_(Actor.lora_model_url.is_not(None), Actor.lora_name.is_not(None))
        conds.append(lora if filters.has_lora else ~lora)
    if filters.has_poster is not None:
        poster = exists().where(
            and_(PosterFrameVersion.actor_id == Actor.id, PosterFrameVersion.is_current)
        )
        conds.append(poster if filters.has_poster else ~poster)
    return conds


def current_posters(session: Session, actor_ids: Iterable[int]) -> dict[int, PosterFrameVersion]:
    """The current poster version of each actor that has one.

    For actors already read through :class:`ActorRepository` (which checked the caller):
    posters hang off them.
    """
    ids = list(actor_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(PosterFrameVersion).where(
            PosterFrameVersion.actor_id.in_(ids), PosterFrameVersion.is_current
        )
    )
    return {row.actor_id: row for row in rows}


class ActorRepository:
    """Queries over ``actors`` and what hangs off them."""

    def __init__(self, session: Session, caller: Principal) -> None:
        self.session = session
        # Whom every read and write here is done for: owned rows are narrowed to it.
        self.caller = caller

    def add(self, actor: Actor) -> Actor:
        """Insert ``actor``; ``Conflict`` when its name is taken (also by a deleted actor)."""
        if self.by_name(actor.name) is not None:
            raise Conflict(f"an actor named {actor.name!r} already exists")
        try:
            with self.session.begin_nested():
                self.session.add(actor)
                self.session.flush()
        except IntegrityError:
            raise Conflict(f"an actor named {actor.name!r} already exists") from None
        return actor

    def get(self, actor_id: int, *, include_deleted: bool = False) -> Actor:
        """The actor with ``actor_id``; ``NotFound`` when unknown (or deleted)."""
        actor = self.session.get(Actor, actor_id)
        if actor is None or (actor.deleted_at is not None and not include_deleted):
            raise NotFound(f"actor {actor_id} not found")
        if not access.may_access(self.caller, actor.owner_id):
            raise NotFound(f"actor {actor_id} not found")
        return actor

    def get_for_update(self, actor_id: int, *, include_deleted: bool = False) -> Actor:
        """Like :meth:`get`, locking the row on PostgreSQL until the transaction ends."""
        actor = self.session.scalars(
            select(Actor).where(Actor.id == actor_id).with_for_update()
        ).first()
        if actor is None or (actor.deleted_at is not None and not include_deleted):
            raise NotFound(f"actor {actor_id} not found")
        if not access.may_access(self.caller, actor.owner_id):
            raise NotFound(f"actor {actor_id} not found")
        return actor

    def by_name(self, name: str) -> Actor | None:
        """The actor called ``name``, deleted or not."""
        return self.session.scalars(select(Actor).where(Actor.name == name)).first()

    def rename_check(self, actor: Actor, new_name: str) -> None:
        """``Conflict`` when another actor already has ``new_name``."""
        other = self.by_name(new_name)
        if other is not None and other.id != actor.id:
            raise Conflict(f"an actor named {new_name!r} already exists")

    def ids_before(self, filters: ActorFilters, first_id: int, limit: int) -> list[int]:
        """Up to ``limit`` ids of matching actors before ``first_id``, newest first."""
        query = select(Actor.id).where(*_conditions(filters, self.caller), Actor.id < first_id)
        return list(self.session.scalars(query.order_by(Actor.id.desc()).limit(limit)))

    def search(self, filters: ActorFilters, *, after_id: int | None, limit: int) -> ActorPage:
        """A page of actors in id order, after ``after_id`` (keyset pagination)."""
        conds = _conditions(filters, self.caller)
        query = select(Actor).where(*conds)
        if after_id is not None:
            query = query.where(Actor.id > after_id)
        rows = list(self.session.scalars(query.order_by(Actor.id).limit(limit + 1)))
        more = len(rows) > limit
        items = rows[:limit]
        if after_id is None and not more:
            total = len(items)  # the whole listing fits on this page: nothing to count
        else:
            # The exact count is most of a page's time over a large library; the live
            # partial indexes (migration 0014) let PostgreSQL count from an index alone.
            count = select(func.count()).select_from(Actor).where(*conds)
            total = self.session.scalar(count) or 0
        return ActorPage(items=items, total=total, last_id=items[-1].id if more else None)

    def all_live(self) -> Sequence[Actor]:
        """Every actor not soft-deleted that the caller may see, in id order (for exports)."""
        query = select(Actor).where(
            Actor.deleted_at.is_(None), *owned_by(Actor.owner_id, self.caller)
        )
        return list(self.session.scalars(query.order_by(Actor.id)))

    def soft_delete(self, actor: Actor) -> None:
        """Hide ``actor`` from listings; its rows and objects stay."""
        actor.deleted_at = datetime.now(UTC)
        self.session.flush()

    def restore(self, actor: Actor) -> None:
        """Bring a soft-deleted actor back."""
        actor.deleted_at = None
        self.session.flush()

    def owned_assets(self, actor: Actor) -> list[Asset]:
        """Every asset that belongs to ``actor``: base images, posters, training data."""
        ids: set[int] = set()
        if actor.base_image_asset_id is not None:
            ids.add(actor.base_image_asset_id)
        ids.update(
            self.session.scalars(
                select(Asset.id).where(Asset.meta["actor_id"].as_integer() == actor.id)
            )
        )
        ids.update(
            self.session.scalars(
                select(PosterFrameVersion.asset_id).where(PosterFrameVersion.actor_id == actor.id)
            )
        )
        ids.update(
            self.session.scalars(
                select(TrainingDataItem.asset_id).where(TrainingDataItem.actor_id == actor.id)
            )
        )
        if not ids:
            return []
        return list(self.session.scalars(select(Asset).where(Asset.id.in_(ids))))

    def purge(self, actor: Actor) -> list[str]:
        """Delete ``actor``, its versions, items and assets; return the object keys to remove.

        Rows go first (in the caller's transaction); the caller deletes the objects after
        commit, so no row is ever left pointing at a missing object.
        """
        assets = self.owned_assets(actor)
        asset_ids = [asset.id for asset in assets]
        keys = [asset.storage_key for asset in assets]
        if asset_ids:
            keys.extend(
                self.session.scalars(
                    select(AssetRendition.storage_key).where(AssetRendition.asset_id.in_(asset_ids))
                )
            )
        self.session.execute(
            delete(PosterFrameVersion).where(PosterFrameVersion.actor_id == actor.id)
        )
        self.session.execute(delete(TrainingDataItem).where(TrainingDataItem.actor_id == actor.id))
        actor.base_image_asset_id = None
        self.session.flush()
        self.session.delete(actor)
        self.session.flush()
        if asset_ids:
            self.session.execute(
                delete(AssetRendition).where(AssetRendition.asset_id.in_(asset_ids))
            )
            self.session.execute(delete(Asset).where(Asset.id.in_(asset_ids)))
        return keys
