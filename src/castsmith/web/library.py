"""Read helpers for the Actor Library page: filters from the query string, the
"previous page" cursor and the provenance labels the JSON API does not carry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.db.models import Actor, Asset, PosterFrameVersion
from castsmith.db.repositories.actors import ActorFilters, ActorRepository
from castsmith.domain.actors import encode_cursor

PAGE_SIZE = 24


@dataclass(frozen=True)
class LibraryQuery:
    """The library's search box and filters, as the page's form sends them."""

    q: str = ""
    actor_type: str = ""
    sex: str = ""
    has_lora: str = ""
    has_poster: str = ""

    def filters(self) -> ActorFilters:
        """The repository's filters for this query."""
        return ActorFilters(
            q=self.q.strip() or None,
            actor_type=self.actor_type.lower() or None,
            sex=self.sex.lower() or None,
            has_lora=_tri(self.has_lora),
            has_poster=_tri(self.has_poster),
        )

    def params(self) -> dict[str, str]:
        """The non-empty fields, for building page links."""
        values = {
            "q": self.q,
            "type": self.actor_type,
            "sex": self.sex,
            "has_lora": self.has_lora,
            "has_poster": self.has_poster,
        }
        return {key: value for key, value in values.items() if value}

    def active(self) -> bool:
        """Whether any search or filter is set."""
        return bool(self.params())


def _tri(value: str) -> bool | None:
    # "yes" / "no" / "" (any): a select with three choices.
    if value == "yes":
        return True
    if value == "no":
        return False
    return None


def previous_cursor(
    actors: ActorRepository, filters: ActorFilters, first_id: int, limit: int
) -> tuple[bool, str | None]:
    """``(has_previous, cursor)`` for the page before the one starting at ``first_id``.

    Keyset pagination backwards: read at most ``limit + 1`` ids before ``first_id``
    (newest first); the page before starts after the ``limit + 1``-th, or at the very
    beginning (cursor ``None``) when there are not that many.
    """
    ids = actors.ids_before(filters, first_id, limit + 1)
    if not ids:
        return False, None
    if len(ids) <= limit:
        return True, None
    return True, encode_cursor(ids[-1])


def placeholder_flags(session: Session, actor_ids: Iterable[int]) -> dict[int, dict[str, bool]]:
    """Per actor: whether its current poster / base image is offline placeholder art."""
    ids = list(actor_ids)
    flags: dict[int, dict[str, bool]] = {i: {"poster": False, "base": False} for i in ids}
    if not ids:
        return flags
    posters = session.execute(
        select(PosterFrameVersion.actor_id, Asset.meta)
        .join(Asset, Asset.id == PosterFrameVersion.asset_id)
        .where(PosterFrameVersion.actor_id.in_(ids), PosterFrameVersion.is_current)
    )
    for actor_id, meta in posters:
        flags[actor_id]["poster"] = bool((meta or {}).get("placeholder"))
    bases = session.execute(
        select(Actor.id, Asset.meta, Asset.provider)
        .join(Asset, Asset.id == Actor.base_image_asset_id)
        .where(Actor.id.in_(ids))
    )
    for actor_id, meta, provider in bases:
        flags[actor_id]["base"] = bool((meta or {}).get("placeholder")) or provider == "offline"
    return flags
