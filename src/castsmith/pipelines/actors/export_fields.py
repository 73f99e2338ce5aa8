"""The fields an actor's exports carry beside the seeds' own: its LoRA and its poster.

Seed 001's scripts read ``lora_model_url`` (with the LoRA's name and trigger word)
from an actor's record, and seed 000 updates the manifest with ``poster_frame_url``
(the URL of the poster image) after a training. Both exports (``actorsData.json`` and
the per-actor manifest) take them from here, so they say the same thing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from castsmith.db.models import Actor, Asset, PosterFrameVersion
from castsmith.db.repositories.actors import current_posters
from castsmith.pipelines._assets import public_pair
from castsmith.pipelines._services import Services

#: The LoRA fields, named as the seeds' records name them.
LORA_FIELDS = (
    "lora_model_url",
    "lora_name",
    "lora_trigger_word",
    "lora_strength_model",
    "lora_strength_clip",
)
POSTER_FRAME_URL = "poster_frame_url"
DERIVED_FIELDS = (*LORA_FIELDS, POSTER_FRAME_URL)
"""Fields worked out from the actor on export; an imported copy of them is stale."""


def has_lora(actor: Actor) -> bool:
    """Whether the actor has a LoRA (a model URL or a file name)."""
    return actor.lora_model_url is not None or actor.lora_name is not None


def lora_fields(actor: Actor) -> dict[str, Any]:
    """The actor's LoRA: URL, name, trigger word and strengths (all null without one)."""
    if not has_lora(actor):
        return dict.fromkeys(LORA_FIELDS)
    return {
        "lora_model_url": actor.lora_model_url,
        "lora_name": actor.lora_name,
        "lora_trigger_word": actor.lora_trigger_word,
        "lora_strength_model": actor.lora_strength_model,
        "lora_strength_clip": actor.lora_strength_clip,
    }


def poster_source(session: Session, actor_id: int) -> tuple[PosterFrameVersion | None, str | None]:
    """The actor's current poster version and its image's key. Sync."""
    poster = current_posters(session, [actor_id]).get(actor_id)
    if poster is None:
        return None, None
    asset = session.get(Asset, poster.asset_id)
    return poster, asset.storage_key if asset is not None else None


async def poster_frame_url(
    services: Services, poster: PosterFrameVersion | None, key: str | None
) -> str | None:
    """Seed 000's ``poster_frame_url``: the current poster image's URL, or null.

    An imported poster keeps the URL it arrived with (its large standard WebP); a
    poster castsmith drew gives its image's standard URL (public on AWS S3, signed
    elsewhere, like the seeds' ``poster_frames``).
    """
    if poster is None:
        return None
    imported = (poster.params or {}).get("poster_frames")
    if isinstance(imported, dict):
        for group in ("standard", "accelerated"):
            url = (imported.get(group) or {}).get("webp_lg")
            if isinstance(url, str) and url:
                return url
    if key is None:
        return None
    return (await public_pair(services, key))[1]
