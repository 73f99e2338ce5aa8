"""Training images: one image-to-image generation from an actor's base image, stored safely.

One image goes through these steps, in this order, so that concurrent generations never
lose or duplicate an entry and a failure leaves nothing behind:

1. read the base image (the actor's stored one, or ``base_image_url`` fetched through
   the SSRF-safe downloader) - an actor without one is refused naming ``base_image``;
2. ask the image provider for a variation with the prompt; convert the output to JPEG;
3. reserve the next free number ``n`` in the database (unique per actor; a collision
   retries with the next number; SQLite takes the write lock up front, PostgreSQL locks
   the actor row), then check the object store and skip numbers whose key is taken;
4. upload to ``system_actors/training_data/{actor_name}/{actor_name}_{n}.jpg``;
5. record hashes, size and provenance and mark the item ``synced`` in one transaction.

Any failure after step 3 releases the reservation and removes the uploaded object.
Steps 1 and 2, and their staging for a retry, are in :mod:`.generate`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from castsmith.db.models import Actor, Asset, utcnow
from castsmith.db.repositories.actors import ActorRepository
from castsmith.db.repositories.training import (
    FileFacts,
    Reservation,
    TrainingRepository,
)
from castsmith.domain.errors import CastsmithError, Conflict, ValidationError
from castsmith.imaging.inspect import inspect_image
from castsmith.net.fetch import fetch_url, policy_from_settings
from castsmith.pipelines._services import Services
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
        actor: Actor = ActorRepository(session).get(actor_id)
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


def reserve_number(
    services: Services,
    actor: ActorFacts,
    *,
    prompt: str | None,
    prompt_id: str | None,
    job_id: int | None,
    floor: int = 0,
) -> tuple[Reservation, bool]:
    """Reserve the next free training image number of ``actor``. Sync.

    Returns the reservation and whether it is one an earlier attempt of ``job_id`` made
    (its key then already belongs to this job).
    """

    def key_for(n: int) -> str:
        return services.keys.training_image(actor.name, n)

    for _ in range(MAX_RESERVE_ATTEMPTS):
        n = floor + 1
        try:
            with services.sessions.begin() as session:
                repo = TrainingRepository(session)
                if job_id is not None:
                    earlier = repo.pending_for_job(actor.id, job_id)
                    if earlier is not None:
                        return earlier, True
                repo.lock_actor(actor.id)
                n = repo.next_number(actor.id, floor)
                fresh = repo.reserve(
                    actor.id, n, key_for, prompt=prompt, prompt_id=prompt_id, job_id=job_id
                )
                return fresh, False
        except IntegrityError:
            # Another writer took n (or an unrelated asset holds its key): move past it.
            floor = max(floor, n)
    raise Conflict(f"could not reserve a training image number for actor {actor.name!r}")


def release(services: Services, reservation: Reservation) -> None:
    """Remove a reservation's rows. Sync."""
    with services.sessions.begin() as session:
        TrainingRepository(session).release(reservation)


def _release_quietly(services: Services, reservation: Reservation) -> None:
    # Called while another error propagates: that error (the store or the database
    # being unreachable) is what decides the retry, not a failed clean-up. A reservation
    # left behind is reused by the job's retry or cleared once stale.
    try:
        release(services, reservation)
    except Exception:
        log.warning("could not release training image reservation %s", reservation.key)


async def _discard_object(services: Services, key: str) -> None:
    try:
        await services.store.delete(key)
    except CastsmithError:
        log.warning("could not remove %s after a failed training image", key, exc_info=True)


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
    floor = 0
    while True:
        reservation, reused = await asyncio.to_thread(
            reserve_number,
            services,
            actor,
            prompt=prompt,
            prompt_id=prompt_id,
            job_id=job_id,
            floor=floor,
        )
        try:
            # A reservation left by an earlier attempt of this job owns its key already.
            taken = not reused and await services.store.exists(reservation.key)
        except BaseException:
            # The store is unreachable: no pending row may stay pointing at no object.
            await asyncio.to_thread(_release_quietly, services, reservation)
            raise
        if not taken:
            break
        log.warning("training image key %s is taken in the store; skipping", reservation.key)
        await asyncio.to_thread(release, services, reservation)
        floor = reservation.n
    uploaded = False
    try:
        await services.store.put(reservation.key, jpeg, content_type="image/jpeg")
        uploaded = True
        facts = FileFacts(
            size_bytes=info.size_bytes,
            md5=info.md5,
            sha256=info.sha256,
            width=info.width,
            height=info.height,
        )

        def record() -> int:
            with services.sessions.begin() as session:
                return TrainingRepository(session).finalize(reservation, facts, provenance).id

        item_id = await asyncio.to_thread(record)
    except BaseException:
        if uploaded:
            await _discard_object(services, reservation.key)
        await asyncio.to_thread(_release_quietly, services, reservation)
        raise
    # After the image is recorded: a thumbnail that fails is made when a grid shows it.
    await add_thumbnail(services, reservation.asset_id, jpeg, info.sha256)
    return TrainingImage(
        item_id=item_id,
        n=reservation.n,
        filename=reservation.filename,
        key=reservation.key,
        md5=info.md5,
        size_bytes=info.size_bytes,
        provider=str(provenance.get("provider") or ""),
    )


async def clear_stale_reservations(services: Services, actor_id: int) -> int:
    """Remove reservations (and their objects) that a crashed worker left behind."""

    def find() -> list[Reservation]:
        with services.sessions() as session:
            return TrainingRepository(session).stale_pending(actor_id, utcnow() - STALE_RESERVATION)

    stale = await asyncio.to_thread(find)
    for reservation in stale:
        await _discard_object(services, reservation.key)
        await asyncio.to_thread(release, services, reservation)
    return len(stale)
