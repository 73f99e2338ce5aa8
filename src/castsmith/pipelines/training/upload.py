"""A user's own photographs added to an actor's dataset.

Every file is validated like a base image (size, format, decodable, pixel limit) before
any is stored, so a bad file in a batch refuses the batch and stores nothing; then each
is converted to JPEG, numbered and recorded exactly like a generated image, with
provenance ``uploaded``, and the curation check is requested for the actor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from castsmith.domain.errors import ImageError, ValidationError
from castsmith.imaging.inspect import inspect_image
from castsmith.imaging.renditions import to_jpeg
from castsmith.pipelines._checks import request_checks
from castsmith.pipelines._services import Services
from castsmith.pipelines.training.images import (
    TrainingImage,
    load_actor,
    store_training_image,
)

PROVENANCE = "uploaded"
MAX_FILES = 200


def _prepare(services: Services, name: str, data: bytes) -> bytes:
    settings = services.settings
    if len(data) > settings.max_upload_bytes:
        raise ValidationError(
            f"files: {name} is larger than {settings.max_upload_bytes} bytes", "files"
        )
    try:
        inspect_image(data, max_pixels=settings.max_image_pixels)
        return to_jpeg(data, max_pixels=settings.max_image_pixels)
    except ImageError as exc:
        raise ValidationError(f"files: {name}: {exc}", "files") from exc


async def upload_training_images(
    services: Services,
    actor_id: int,
    files: Sequence[tuple[str, bytes]],
    *,
    auto_triage: bool | None = None,
) -> dict[str, Any]:
    """Add ``(filename, bytes)`` files to the actor's dataset; the stored images and the
    check job."""
    if not files:
        raise ValidationError("files: send one or more image files", "files")
    if len(files) > MAX_FILES:
        raise ValidationError(f"files: at most {MAX_FILES} files at once", "files")
    actor = await asyncio.to_thread(load_actor, services, actor_id)
    jpegs = [await asyncio.to_thread(_prepare, services, name, data) for name, data in files]
    stored: list[TrainingImage] = []
    for (name, _), jpeg in zip(files, jpegs, strict=True):
        stored.append(
            await store_training_image(
                services,
                actor,
                jpeg,
                prompt=None,
                prompt_id=None,
                job_id=None,
                provenance={"provider": PROVENANCE, "meta": {"original_filename": name}},
            )
        )
    job = await request_checks(services, actor_id=actor_id, triage=auto_triage)
    return {
        "actor_id": actor_id,
        "items": [image.as_dict() for image in stored],
        "check_job_id": job.id if job is not None else None,
    }
