"""Making one training image: steps 1 and 2 of :mod:`.images`, staged, then stored.

In a job, the provider's JPEG (step 2) is staged (:mod:`castsmith.pipelines._staging`)
before it is stored: a retry after the object store or the database failed stores it
without asking (and paying) the provider again, and a retry after the image was
already recorded returns that image instead of storing it twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from castsmith.db.models import Asset
from castsmith.db.repositories.training import TrainingRepository
from castsmith.domain.errors import CastsmithError, ValidationError
from castsmith.imaging.inspect import inspect_image
from castsmith.imaging.renditions import to_jpeg
from castsmith.pipelines import _staging
from castsmith.pipelines._failover import with_failover
from castsmith.pipelines._services import Services
from castsmith.pipelines.training.images import (
    ActorFacts,
    TrainingImage,
    TrainingRequest,
    image_provider,
    load_actor,
    read_base_image,
    store_training_image,
)
from castsmith.providers.base import (
    ImageProvider,
    ImageResult,
    ImageToImage,
    InputImage,
    ProgressCallback,
    RemoteCall,
)

#: The staging step name of a training image's JPEG.
STAGED_JPEG = "training_jpeg"


def stored_image(services: Services, actor_id: int, job_id: int) -> TrainingImage | None:
    """The image an earlier attempt of ``job_id`` already recorded, if any. Sync."""
    with services.sessions() as session:
        item = TrainingRepository(session).stored_for_job(actor_id, job_id)
        asset = session.get(Asset, item.asset_id) if item is not None else None
        if item is None or asset is None:
            return None
        return TrainingImage(
            item_id=item.id,
            n=item.n,
            filename=item.filename,
            key=asset.storage_key,
            md5=asset.md5,
            size_bytes=asset.size_bytes,
            provider=asset.provider or "",
        )


async def generate_training_image(
    services: Services,
    request: TrainingRequest,
    progress: ProgressCallback | None = None,
) -> TrainingImage:
    """Make one training image for an actor and record it (the whole flow above)."""
    if not request.prompt or not request.prompt.strip():
        raise ValidationError("prompt must not be empty", "prompt")
    actor = await asyncio.to_thread(load_actor, services, request.actor_id)
    provider = image_provider(services, request.provider)
    if request.job_id is not None:
        # The image was recorded but the attempt failed after (a checkpoint or a
        # follow-up write): the job's work is done, storing it again would duplicate it.
        earlier = await asyncio.to_thread(stored_image, services, actor.id, request.job_id)
        if earlier is not None:
            await _staging.discard(services, STAGED_JPEG)
            return earlier
    staged = await _staging.restore(services, STAGED_JPEG)
    if staged is not None:
        # The provider answered on an earlier attempt (and was paid): only store.
        jpeg, provenance = staged.data, staged.facts
    else:
        jpeg, provenance = await draw_training_image(services, request, actor, provider, progress)
        await _staging.stage(services, jpeg, provenance, STAGED_JPEG)
    image = await store_training_image(
        services,
        actor,
        jpeg,
        prompt=request.prompt,
        prompt_id=request.prompt_id,
        job_id=request.job_id,
        provenance=provenance,
    )
    await _staging.discard(services, STAGED_JPEG)
    return image


async def draw_training_image(
    services: Services,
    request: TrainingRequest,
    actor: ActorFacts,
    provider: ImageProvider,
    progress: ProgressCallback | None,
) -> tuple[bytes, dict[str, Any]]:
    """Steps 1 and 2: the provider's image as JPEG, and its provenance (JSON)."""
    base, base_asset_id = await read_base_image(services, actor, request.base_image_url)
    try:
        # A stored base image was fully checked when it was saved: its header is enough.
        base_info = await asyncio.to_thread(
            inspect_image,
            base,
            max_pixels=services.settings.max_image_pixels,
            decode=bool(request.base_image_url),
        )
    except CastsmithError as exc:
        field = "base_image_url" if request.base_image_url else "base_image"
        raise ValidationError(f"{field}: {exc}", field) from exc
    ask = ImageToImage(
        prompt=request.prompt,
        images=(InputImage(base, f"base.{base_info.extension}", base_info.content_type),),
        seed=request.seed,
    )

    async def draw(chosen: ImageProvider, remote: RemoteCall | None) -> ImageResult:
        return await chosen.image_to_image(ask, progress, remote=remote)

    # Metered in the cost ledger, paid once (a Replicate prediction is checkpointed and
    # resumed), failing over to the next image provider on a retryable error. An
    # explicitly requested provider is not failed over from.
    role = "image" if request.provider is None else "explicit"
    result = await with_failover(
        services, role, "image_to_image", provider, draw, actor_id=request.actor_id
    )
    if not result.images:
        raise ValidationError(f"provider {provider.name!r} returned no image", "provider")
    jpeg = await asyncio.to_thread(
        to_jpeg, result.images[0].data, max_pixels=services.settings.max_image_pixels
    )
    prov = result.provenance
    provenance: dict[str, Any] = {
        "provider": prov.provider,
        "model": prov.model,
        "seed": result.images[0].seed if result.images[0].seed is not None else prov.seed,
        "provider_job_id": prov.provider_job_id,
        "parent_asset_id": base_asset_id,
        "meta": {
            "prompt_id": request.prompt_id,
            "placeholder": prov.placeholder,
            **({"base_image_url": request.base_image_url} if request.base_image_url else {}),
        },
    }
    return jpeg, provenance
