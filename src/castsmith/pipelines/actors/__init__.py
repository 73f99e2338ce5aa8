"""Actor use cases: create, list, show, change, delete/restore/purge, and base images.

Database work runs in a worker thread (sync SQLAlchemy); storage and providers are
awaited. A base image arrives by upload, by URL or from the default image provider
(as an ``actor.base_image`` job); it is always stored as a JPEG under
``system_actors/base_images/{actor_name}_base.jpg`` or, when that key is taken, a new
numbered key, so an earlier base image is never overwritten.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.orm import Session

from castsmith.db.models import Actor, User
from castsmith.db.repositories.actors import ActorFilters, ActorRepository
from castsmith.domain import access
from castsmith.domain.actors import (
    PortraitSubject,
    clean_actor_fields,
    decode_cursor,
    encode_cursor,
    portrait_prompt,
    validate_limit,
)
from castsmith.domain.errors import (
    CastsmithError,
    ImageError,
    ProviderUnavailable,
    ValidationError,
)
from castsmith.imaging.inspect import inspect_image
from castsmith.imaging.renditions import to_jpeg
from castsmith.net.fetch import fetch_url, policy_from_settings
from castsmith.pipelines._assets import AssetProvenance
from castsmith.pipelines._checks import request_checks
from castsmith.pipelines._failover import with_failover
from castsmith.pipelines._services import Services
from castsmith.pipelines._writer import store_asset
from castsmith.pipelines.actors.views import ActorView, load_views, to_json
from castsmith.pipelines.training.curation import ACTOR_THRESHOLD, validate_threshold
from castsmith.providers.base import ImageProvider, ImageResult, RemoteCall, TextToImage

log = logging.getLogger("castsmith.pipelines.actors")


async def _show(
    services: Services, actor_id: int, *, include_deleted: bool = False
) -> dict[str, Any]:
    def read() -> ActorView:
        with services.sessions() as session:
            actor = ActorRepository(session, services.caller).get(
                actor_id, include_deleted=include_deleted
            )
            return load_views(session, [actor])[0]

    return await to_json(services, await asyncio.to_thread(read))


async def get_actor(services: Services, actor_id: int) -> dict[str, Any]:
    """One live actor as JSON; ``NotFound`` when unknown or deleted."""
    return await _show(services, actor_id)


async def create_actor(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    """Create an actor from user fields; ``InvalidName`` / ``Conflict`` on bad input."""
    values = clean_actor_fields(fields, partial=False)
    values["owner_id"] = access.owner_for_new(services.caller, values.get("owner_id"))

    def write() -> int:
        # The name check reads before the insert writes: IMMEDIATE so SQLite queues it.
        with services.sessions.begin() as session:
            _require_user(session, values.get("owner_id"))
            return ActorRepository(session, services.caller).add(Actor(**values)).id

    return await _show(services, await asyncio.to_thread(write))


def _require_user(session: Session, user_id: int | None) -> None:
    """An owner must be a user that exists: the row would otherwise break its foreign key."""
    if user_id is not None and session.get(User, user_id) is None:
        raise ValidationError(f"owner_id: no user with id {user_id}", "owner_id")


async def update_actor(services: Services, actor_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Change the given fields of a live actor (a renamed actor keeps its stored keys).

    ``curation_identity_threshold`` (a number above 0 and at most 2, or ``None`` to
    clear it) is the actor's own identity threshold for the curation checks; it lives
    in the actor's ``extra`` settings, not in a column.
    """
    fields = dict(fields)
    threshold_given = ACTOR_THRESHOLD in fields
    threshold = validate_threshold(fields.pop(ACTOR_THRESHOLD, None))
    values = clean_actor_fields(fields, partial=True)
    if "owner_id" in values:
        access.check_owner_change(services.caller, values["owner_id"])

    def write() -> None:
        with services.sessions.begin() as session:
            repo = ActorRepository(session, services.caller)
            actor = repo.get_for_update(actor_id)
            if "owner_id" in values:
                _require_user(session, values["owner_id"])
            if "name" in values:
                repo.rename_check(actor, values["name"])
            for column, value in values.items():
                setattr(actor, column, value)
            if threshold_given:
                # A new dict, so SQLAlchemy sees the JSON column change.
                extra = {k: v for k, v in (actor.extra or {}).items() if k != ACTOR_THRESHOLD}
                if threshold is not None:
                    extra[ACTOR_THRESHOLD] = threshold
                actor.extra = extra

    await asyncio.to_thread(write)
    return await _show(services, actor_id)


async def list_actors(
    services: Services, filters: ActorFilters, *, cursor: str | None, limit: int | None
) -> dict[str, Any]:
    """``{items, next_cursor, total}``: a keyset page of actors in id order."""
    after_id = decode_cursor(cursor)
    size = validate_limit(limit)

    def read() -> tuple[list[ActorView], int, int | None]:
        with services.sessions() as session:
            page = ActorRepository(session, services.caller).search(
                filters, after_id=after_id, limit=size
            )
            return load_views(session, page.items), page.total, page.last_id

    loaded, total, last_id = await asyncio.to_thread(read)
    items = [await to_json(services, item) for item in loaded]
    next_cursor = encode_cursor(last_id) if last_id is not None else None
    return {"items": items, "next_cursor": next_cursor, "total": total}


async def delete_actor(services: Services, actor_id: int) -> None:
    """Soft-delete: hidden from lists, rows and objects kept, restorable."""

    def write() -> None:
        with services.sessions.begin() as session:
            repo = ActorRepository(session, services.caller)
            repo.soft_delete(repo.get_for_update(actor_id))

    await asyncio.to_thread(write)


async def restore_actor(services: Services, actor_id: int) -> dict[str, Any]:
    """Undo a soft delete (a live actor is returned unchanged)."""

    def write() -> None:
        with services.sessions.begin() as session:
            repo = ActorRepository(session, services.caller)
            repo.restore(repo.get_for_update(actor_id, include_deleted=True))

    await asyncio.to_thread(write)
    return await _show(services, actor_id)


async def purge_actor(services: Services, actor_id: int) -> list[str]:
    """Remove an actor (live or deleted), its rows and its objects for good.

    Rows are deleted in one transaction first; objects afterwards, so a failure
    leaves at worst an unreferenced object, never a row pointing at nothing.
    """

    def write() -> list[str]:
        with services.sessions.begin() as session:
            repo = ActorRepository(session, services.caller)
            return repo.purge(repo.get_for_update(actor_id, include_deleted=True))

    keys = await asyncio.to_thread(write)
    for key in keys:
        try:
            await services.store.delete(key)
        except CastsmithError:
            log.warning("could not delete %s while purging actor %s", key, actor_id)
    return keys


# --- base images ---------------------------------------------------------------------


async def set_base_image(
    services: Services,
    actor_id: int,
    data: bytes,
    *,
    field: str = "file",
    provenance: AssetProvenance | None = None,
) -> dict[str, Any]:
    """Validate ``data`` as an image, store it as the actor's JPEG base image.

    Bytes that are not an image raise ``ValidationError`` naming ``field``. The object
    is written first; the asset row and the actor's pointer follow in one transaction.
    """
    limit = services.settings.max_upload_bytes
    if len(data) > limit:
        raise ValidationError(f"{field}: the image is larger than {limit} bytes", field)
    try:
        await asyncio.to_thread(inspect_image, data, max_pixels=services.settings.max_image_pixels)
        jpeg = await asyncio.to_thread(to_jpeg, data, max_pixels=services.settings.max_image_pixels)
    except ImageError as exc:
        raise ValidationError(f"{field}: {exc}", field) from exc

    def actor_name() -> str:
        with services.sessions() as session:
            return ActorRepository(session, services.caller).get(actor_id).name

    name = await asyncio.to_thread(actor_name)
    base = provenance or AssetProvenance()
    provenance = AssetProvenance(
        provider=base.provider,
        model=base.model,
        prompt=base.prompt,
        seed=base.seed,
        provider_job_id=base.provider_job_id,
        owner_id=base.owner_id,
        meta={**base.meta, "actor_id": actor_id},
    )

    def point_actor(session: Session, asset_id: int) -> None:
        ActorRepository(session, services.caller).get_for_update(
            actor_id
        ).base_image_asset_id = asset_id

    await store_asset(
        services,
        services.keys.base_image(name),
        jpeg,
        kind="base_image",
        provenance=provenance,
        with_row=point_actor,
    )
    # The base image is the actor's reference identity: its check re-judges the dataset.
    await request_checks(services, actor_id=actor_id)
    return await _show(services, actor_id)


async def base_image_from_url(services: Services, actor_id: int, url: str) -> dict[str, Any]:
    """Download ``url`` safely and make it the actor's base image (errors name ``url``)."""

    def exists() -> None:
        with services.sessions() as session:
            ActorRepository(session, services.caller).get(actor_id)

    await asyncio.to_thread(exists)
    fetched = await fetch_url(url, policy_from_settings(services.settings), field="url")
    return await set_base_image(
        services,
        actor_id,
        fetched.data,
        field="url",
        provenance=AssetProvenance(provider="url", meta={"source_url": fetched.url}),
    )


# --- generated base images (the ``actor.base_image`` job) ----------------------------

KIND_BASE_IMAGE = "actor.base_image"


async def enqueue_base_image(
    services: Services,
    actor_id: int,
    *,
    prompt: str | None = None,
    seed: int | None = None,
    webhook_url: str | None = None,
) -> dict[str, Any]:
    """Queue generation of the actor's base image; one job per actor at a time.

    ``webhook_url`` receives a POST when the job ends."""

    def check() -> None:
        with services.sessions() as session:
            ActorRepository(session, services.caller).get(actor_id)

    await asyncio.to_thread(check)
    if prompt is not None and len(prompt) > 4000:
        raise ValidationError("prompt is longer than 4000 characters", "prompt")
    queue = services.queue
    job = await asyncio.to_thread(
        queue.enqueue,
        KIND_BASE_IMAGE,
        {"actor_id": actor_id, "prompt": prompt, "seed": seed},
        idempotency_key=f"{KIND_BASE_IMAGE}:{actor_id}",
        owner_id=services.caller.user_id,
        webhook_url=webhook_url,
    )
    return {"job_id": job.id, "kind": job.kind, "status": job.status, "actor_id": actor_id}


async def generate_base_image(
    services: Services,
    actor_id: int,
    *,
    prompt: str | None = None,
    seed: int | None = None,
    provider: ImageProvider | None = None,
) -> dict[str, Any]:
    """Make a portrait with the image provider and store it as the actor's base image."""

    def subject() -> PortraitSubject:
        with services.sessions() as session:
            actor = ActorRepository(session, services.caller).get(actor_id)
            return PortraitSubject(
                name=actor.name,
                description=actor.description,
                sex=actor.sex,
                age=actor.age,
                ethnicity=actor.ethnicity,
                actor_type=actor.actor_type,
            )

    text = prompt or portrait_prompt(await asyncio.to_thread(subject))
    generator = provider or services.providers.for_role("image")

    async def draw(chosen: ImageProvider, remote: RemoteCall | None) -> ImageResult:
        return await chosen.text_to_image(TextToImage(prompt=text, seed=seed), remote=remote)

    # Metered and paid once; a retryable failure moves on along the ``base`` failover
    # providers. A provider the caller chose explicitly is not failed over from.
    role = "base" if provider is None else "explicit"
    result = await with_failover(
        services, role, "text_to_image", generator, draw, actor_id=actor_id
    )
    if not result.images:
        raise ProviderUnavailable(f"{result.provenance.provider} returned no image")
    image = result.images[0]
    origin = result.provenance
    return await set_base_image(
        services,
        actor_id,
        image.data,
        field="image",
        provenance=AssetProvenance(
            provider=origin.provider,
            model=origin.model,
            prompt=text,
            seed=image.seed if image.seed is not None else origin.seed,
            provider_job_id=origin.provider_job_id,
            meta={"placeholder": origin.placeholder} if origin.placeholder else {},
        ),
    )
