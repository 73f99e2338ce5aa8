"""The reference job kind: ``reference.generate`` makes, stores and records reference images."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, CharacterReference
from castsmith.domain.errors import CastsmithError
from castsmith.jobs.registry import HandlerRegistry, JobPayload, PayloadRowId
from castsmith.pipelines._assets import AssetProvenance
from castsmith.pipelines._checks import request_checks
from castsmith.pipelines._failover import with_failover
from castsmith.pipelines._services import Ctx, Services
from castsmith.pipelines._writer import store_asset
from castsmith.pipelines.references import (
    EXTENSIONS,
    KIND_GENERATE,
    MAX_DESCRIPTION,
    ReferenceRequest,
    cache_path,
    check_actor,
)
from castsmith.pipelines.thumbnails import Source, add_thumbnails
from castsmith.providers.base import ImageProvider, ImageResult, RemoteCall, TextToImage

log = logging.getLogger(__name__)


class GeneratePayload(JobPayload):
    """``reference.generate``: what to draw, how many, and the actor it is for.

    No owner field: what the job makes belongs to the job's owner.
    """

    character_description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    num_images: int = Field(default=4, ge=1, le=4)
    aspect_ratio: str = Field(default="1:1", max_length=10)
    seed: int | None = None
    actor_id: PayloadRowId | None = None


def _write_cache(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


async def generate(
    services: Services, request: ReferenceRequest, ctx: Ctx | None = None
) -> list[dict[str, Any]]:
    """Generate, store and record the reference images; return their descriptions."""
    provider = services.providers.for_role("reference")
    if ctx:
        await ctx.progress(10, f"generating {request.num_images} image(s) with {provider.name}")
    ask = TextToImage(
        prompt=request.description,
        width=None,
        height=None,
        aspect_ratio=request.aspect_ratio,
        seed=request.seed,
        count=request.num_images,
    )

    async def draw(chosen: ImageProvider, remote: RemoteCall | None) -> ImageResult:
        return await chosen.text_to_image(ask, remote=remote)

    # Metered, paid once, failing over to the next reference provider when one is down.
    result = await with_failover(
        services, "reference", "text_to_image", provider, draw, actor_id=request.actor_id
    )
    if ctx:
        ctx.check_cancelled()
        await ctx.progress(70, "storing the images")
    stored: list[dict[str, Any]] = []
    keys: list[str] = []
    asset_ids: list[int] = []
    sources: list[Source] = []
    try:
        for image in result.images[: request.num_images]:
            image_id = str(uuid.uuid4())
            ext = EXTENSIONS.get(image.content_type, "png")
            key = services.keys.character_reference(image_id, ext)

            def add_row(session: Session, asset_id: int, image_id: str = image_id) -> None:
                session.add(
                    CharacterReference(
                        id=image_id,
                        description=request.description,
                        aspect_ratio=request.aspect_ratio,
                        asset_id=asset_id,
                        owner_id=request.owner_id,
                        actor_id=request.actor_id,
                    )
                )

            asset = await store_asset(
                services,
                key,
                image.data,
                kind="character_reference",
                provenance=AssetProvenance(
                    provider=result.provenance.provider,
                    model=result.provenance.model,
                    prompt=request.description,
                    seed=image.seed if image.seed is not None else result.provenance.seed,
                    provider_job_id=result.provenance.provider_job_id,
                    owner_id=request.owner_id,
                    meta={"placeholder": result.provenance.placeholder},
                ),
                with_row=add_row,
            )
            keys.append(asset.key)
            if services.store.backend != "local":
                await asyncio.to_thread(_write_cache, cache_path(services, asset.key), image.data)
            stored.append(
                {"id": image_id, "path": asset.key, "content_type": asset.facts[0].content_type}
            )
            asset_ids.append(asset.id)
            sources.append(Source(asset.id, image.data, asset.facts[0].sha256))
    except BaseException:
        await _remove(services, keys)
        raise
    # Once the whole batch is kept (a failed batch is removed, so no thumbnail to orphan).
    await add_thumbnails(services, sources)
    # Faces, sharpness and the rest are recorded for references too.
    await request_checks(services, asset_ids=asset_ids)
    return stored


async def _remove(services: Services, keys: list[str]) -> None:
    """Undo a partly stored batch: objects, rows and cache copies."""

    def delete_rows() -> None:
        with services.sessions.begin() as session:
            for ref in session.scalars(
                select(CharacterReference)
                .join(Asset, Asset.id == CharacterReference.asset_id)
                .where(Asset.storage_key.in_(keys))
            ):
                session.delete(ref)
            for asset in session.scalars(select(Asset).where(Asset.storage_key.in_(keys))):
                session.delete(asset)

    try:
        await asyncio.to_thread(delete_rows)
        for key in keys:
            await services.store.delete(key)
            cache_path(services, key).unlink(missing_ok=True)
    except CastsmithError:
        log.warning("could not remove a partial reference batch", exc_info=True)


async def _handle_generate(ctx: Ctx) -> dict[str, Any]:
    # Jobs queued before payloads had a schema may still carry an owner: it is ignored.
    legacy = {k: v for k, v in ctx.payload.items() if k != "owner_id"}
    payload = GeneratePayload.model_validate(legacy)
    request = ReferenceRequest(
        description=payload.character_description,
        num_images=payload.num_images,
        aspect_ratio=payload.aspect_ratio,
        seed=payload.seed,
        # The handler acts as the job's owner: what it makes is theirs.
        owner_id=ctx.services.caller.user_id,
        actor_id=payload.actor_id,
    )
    if request.actor_id is not None:
        # Checked again here, in the owner's scope: the job may not name their actor.
        await check_actor(ctx.services, request.actor_id)
    images = await generate(ctx.services, request, ctx)
    await ctx.progress(100, f"{len(images)} reference image(s) ready")
    return {"images": images}


def register_handlers(registry: HandlerRegistry) -> None:
    """Register ``reference.generate``."""
    registry.register(KIND_GENERATE, _handle_generate, timeout=600, payload=GeneratePayload)
