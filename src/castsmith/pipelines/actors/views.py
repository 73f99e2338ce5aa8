"""How an actor is shown: its JSON with base image URL and the seeds' ``poster_frames``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.db.models import Actor, Asset, PosterFrameVersion
from castsmith.db.repositories.actors import current_posters
from castsmith.db.repositories.assets import AssetRepository
from castsmith.domain.keys import POSTER_SIZES
from castsmith.pipelines._assets import asset_url, public_pair
from castsmith.pipelines._services import Services
from castsmith.pipelines.training.curation import ACTOR_THRESHOLD


@dataclass
class ActorView:
    """An actor with what its JSON needs, read in one database round."""

    actor: Actor
    base_key: str | None
    poster: PosterFrameVersion | None
    poster_keys: dict[str, str]


def load_views(session: Session, actors: list[Actor]) -> list[ActorView]:
    """Read the actors' base image keys, current posters and renditions in one round."""
    assets = AssetRepository(session)
    posters = current_posters(session, (actor.id for actor in actors))
    wanted = {a.base_image_asset_id for a in actors if a.base_image_asset_id is not None}
    wanted.update(version.asset_id for version in posters.values())
    found: list[Asset] = (
        list(session.scalars(select(Asset).where(Asset.id.in_(wanted)))) if wanted else []
    )
    rows = {asset.id: asset for asset in found}
    renditions = assets.renditions(version.asset_id for version in posters.values())
    loaded = []
    for actor in actors:
        poster = posters.get(actor.id)
        keys: dict[str, str] = {}
        if poster is not None:
            for rendition in renditions.get(poster.asset_id, []):
                keys[rendition.name.removeprefix("webp_")] = rendition.storage_key
        base = rows.get(actor.base_image_asset_id) if actor.base_image_asset_id else None
        loaded.append(ActorView(actor, base.storage_key if base else None, poster, keys))
    return loaded


async def poster_frames_json(
    services: Services, poster: PosterFrameVersion | None, keys: dict[str, str]
) -> dict[str, dict[str, str]] | None:
    """The seeds' ``poster_frames`` shape for a poster version, or ``None``.

    An imported poster keeps the URLs it arrived with (``params["poster_frames"]``).
    """
    if poster is None:
        return None
    imported = (poster.params or {}).get("poster_frames")
    if isinstance(imported, dict):
        return imported
    if not keys:
        return None
    accelerated: dict[str, str] = {}
    standard: dict[str, str] = {}
    for size in POSTER_SIZES:
        if size in keys:
            fast, plain = await public_pair(services, keys[size])
            accelerated[f"webp_{size}"], standard[f"webp_{size}"] = fast, plain
    return {"accelerated": accelerated, "standard": standard}


async def to_json(services: Services, item: ActorView) -> dict[str, Any]:
    """An actor as the API shows it."""
    actor = item.actor
    has_lora = actor.lora_model_url is not None or actor.lora_name is not None
    return {
        "id": actor.id,
        "name": actor.name,
        "description": actor.description,
        "actor_type": actor.actor_type,
        "sex": actor.sex,
        "age": actor.age,
        "ethnicity": actor.ethnicity,
        "style": actor.style,
        "lora": {
            "model_url": actor.lora_model_url,
            "name": actor.lora_name,
            "trigger_word": actor.lora_trigger_word,
            "strength_model": actor.lora_strength_model,
            "strength_clip": actor.lora_strength_clip,
        }
        if has_lora
        else None,
        "owner_id": actor.owner_id,
        # The actor's own identity threshold for the curation checks (null: the setting).
        "curation_identity_threshold": (actor.extra or {}).get(ACTOR_THRESHOLD),
        "base_image_url": await asset_url(services, item.base_key) if item.base_key else None,
        "poster_frames": await poster_frames_json(services, item.poster, item.poster_keys),
        "deleted": actor.deleted_at is not None,
        "created_at": actor.created_at,
        "updated_at": actor.updated_at,
    }
