"""Training images: one image-to-image generation from an actor's base image, stored safely.

One image goes through these steps, in this order, so that concurrent generations never
lose or duplicate an entry and a failure leaves nothing behind:

1. read the base image (the actor's stored one, or ``base_image_url`` fetched through
   the SSRF-safe downloader) - an actor without one is refused naming ``base_image``;
2. ask the image provider for a variation with the prompt; convert the output to JPEG;
3. the asset writer reserves the next free number ``n`` (unique per actor: SQLite takes
   the write lock up front, PostgreSQL locks the actor row, so concurrent writers queue
   instead of colliding) with a hidden asset row and a ``pending`` item, skipping numbers
   whose key already holds an object;
4. it uploads to ``system_actors/training_data/{actor_name}/{actor_name}_{n}.jpg``;
5. and records the asset and marks the item ``synced`` in one transaction.

Any failure after step 3 removes the reservation and the uploaded object.
Steps 1 and 2, and their staging for a retry, are in :mod:`.generate`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from castsmith.db.models import Actor, Asset, utcnow
from castsmith.db.repositories.actors import ActorRepository
from castsmith.db.repositories.training import TRAINING_ASSET_KIND, TrainingRepository
from castsmith.domain.errors import CastsmithError, ValidationError
from castsmith.imaging.inspect import inspect_image
from castsmith.net.fetch import fetch_url, policy_from_settings
from castsmith.pipelines._assets import AssetKeys, AssetProvenance, FileFacts, NewAsset, Reserved
from castsmith.pipelines._services import Services
from castsmith.pipelines._writer import drop_stale_reservations, write_assets
from castsmith.pipelines.thumbnails import add_thumbnail
from castsmith.providers.base import (
    ImageProvider,
)

log = logging.getLogger("castsmith.pipelines.training")

MAX_RESERVE_ATTEMPTS = 200
STALE_RESERVATION = timedelta(hours=1)
BASE_CACHE_SIZE = 8
_BASE_CACHE: dict[tuple[str, str], bytes] = {}


@dataclass(frozen=True)
class TrainingRequest:
    """One training image to make. ``provider`` ``None`` means the configured default."""

    actor_id: int
    prompt: str
    prompt_id: str | None = None
    provider: str | None = None
    base_image_url: str | None = None
    seed: int | None = None
    job_id: int | None = None


@dataclass(frozen=True)
class TrainingImage:
    """A stored training image."""

    item_id: int
    n: int
    filename: str
    key: str
    md5: str
    size_bytes: int
    provider: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form for job results."""
        return {
            "item_id": self.item_id,
            "n": self.n,
            "filename": self.filename,
            "key": self.key,
            "md5_hash": self.md5,
            "size_bytes": self.size_bytes,
            "provider": self.provider,
        }


@dataclass(frozen=True)
class ActorFacts:
    """The parts of an actor a generation reads."""

    id: int
    name: str
    actor_type: str
    sex: str | None
    trigger_word: str | None
    base_asset_id: int | None
    base_key: str | None
    base_md5: str | None = None


def load_actor(services: Services, actor_id: int) -> ActorFacts:
    """Read an actor (``NotFound`` when unknown) with its base image key. Sync."""
    with services.sessions() as session:
        actor: Actor = ActorRepository(session, services.caller).get(actor_id)
        base = session.get(Asset, actor.base_image_asset_id) if actor.base_image_asset_id else None
        return ActorFacts(
            id=actor.id,
            name=actor.name,
            actor_type=actor.actor_type or "person",
            sex=actor.sex,
            trigger_word=actor.lora_trigger_word,
            base_asset_id=base.id if base else None,
            base_key=base.storage_key if base else None,
            base_md5=base.md5 if base else None,
        )


def image_provider(services: Services, name: str | None = None) -> ImageProvider:
    """The provider to use: ``name`` if given, else the configured default image provider.

    Refuses (naming ``provider``) one that cannot make images from an input image.
    """
    provider = services.providers.for_role("image", name)
    if not provider.capabilities.image_to_image:
        raise ValidationError(
            f"provider {provider.name!r} cannot make images from a base image; "
            "choose replicate, openai, google or offline",
            "provider",
        )
    return provider


async def read_base_image(
    services: Services, actor: ActorFacts, base_image_url: str | None
) -> tuple[bytes, int | None]:
    """The base image bytes and its asset id (``None`` when it came from a URL)."""
    if base_image_url:
        policy = policy_from_settings(services.settings)
        fetched = await fetch_url(base_image_url, policy, field="base_image_url")
        return fetched.data, None
    if actor.base_key is None:
        raise ValidationError(
            f"actor {actor.name!r} has no base image; upload one or pass base_image_url",
            "base_image",
        )
    cache_key = (actor.base_key, actor.base_md5 or "")
    data = _BASE_CACHE.get(cache_key)
    if data is None:
        data = await services.store.get(actor.base_key)
        # Children of one generate-all all read the same base image; a stored object is
        # never overwritten, and the md5 in the key guards against a purged-and-reused name.
        if len(_BASE_CACHE) >= BASE_CACHE_SIZE:
            _BASE_CACHE.pop(next(iter(_BASE_CACHE)))
        _BASE_CACHE[cache_key] = data
    return data, actor.base_asset_id


async def store_training_image(
    services: Services,
    actor: ActorFacts,
    jpeg: bytes,
    *,
    prompt: str | None,
    prompt_id: str | None,
    job_id: int | None,
    provenance: dict[str, Any],
) -> TrainingImage:
    """Reserve a number, upload ``jpeg`` under its key and record it (steps 3 to 5)."""
    # The JPEG was just encoded here, so reading its header is enough.
    info = await asyncio.to_thread(
        inspect_image, jpeg, max_pixels=services.settings.max_image_pixels, decode=False
    )
    meta = {**(provenance.get("meta") or {}), "actor_id": actor.id}
    file = NewAsset(
        jpeg,
        TRAINING_ASSET_KIND,
        "image/jpeg",
        AssetProvenance(
            provider=provenance.get("provider"),
            model=provenance.get("model"),
            prompt=prompt,
            seed=provenance.get("seed"),
            provider_job_id=provenance.get("provider_job_id"),
            parent_asset_id=provenance.get("parent_asset_id"),
            meta=meta,
        ),
        facts=FileFacts.of_image(info),
    )

    def first(session: Session) -> int:
        repo = TrainingRepository(session)
        repo.lock_actor(actor.id)
        return repo.next_number(actor.id)

    def hold(session: Session, reserved: Reserved) -> None:
        filename = reserved.keys[0].key.rsplit("/", 1)[-1]
        TrainingRepository(session).hold(
            actor.id,
            reserved.n,
            reserved.ids[0],
            filename,
            prompt=prompt,
            prompt_id=prompt_id,
            job_id=job_id,
        )

    def release(session: Session, reserved: Reserved) -> None:
        TrainingRepository(session).release(reserved.ids)

    def record(session: Session, reserved: Reserved) -> int:
        return TrainingRepository(session).mark_stored(reserved.ids[0]).id

    def keys_for(n: int) -> list[AssetKeys]:
        return [AssetKeys(services.keys.training_image(actor.name, n))]

    saved = await write_assets(
        services, [file], keys_for, first=first, hold=hold, release=release, record=record
    )
    assert saved.result is not None
    # After the image is recorded: a thumbnail that fails is made when a grid shows it.
    await add_thumbnail(services, saved.id, jpeg, info.sha256)
    return TrainingImage(
        item_id=saved.result,
        n=saved.n,
        filename=saved.key.rsplit("/", 1)[-1],
        key=saved.key,
        md5=info.md5,
        size_bytes=info.size_bytes,
        provider=str(provenance.get("provider") or ""),
    )


async def clear_stale_reservations(services: Services) -> int:
    """Remove reservations (and their objects) that a crashed worker left behind."""
    keys = await asyncio.to_thread(
        drop_stale_reservations, services.sessions, utcnow() - STALE_RESERVATION
    )
    for key in keys:
        try:
            await services.store.delete(key)
        except CastsmithError:
            log.warning("could not remove %s left by a crashed worker", key, exc_info=True)
    return len(keys)
