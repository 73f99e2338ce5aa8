"""A new LoRA version's weights: checked, stored streamed, and made the actor's LoRA.

The file arrives on local disk (downloaded from the trainer or uploaded by a user), is
checked as safetensors, uploaded in parts under
``models/{actor_name}/{actor_name}_v{n}.safetensors`` (a taken key is never
overwritten) and recorded; the same transaction makes the version current and points
the actor's LoRA fields at it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from castsmith.db.models import Asset, utcnow
from castsmith.db.repositories.lora import LoraRepository
from castsmith.domain.errors import ValidationError
from castsmith.domain.lora import SUCCEEDED
from castsmith.pipelines._services import Services
from castsmith.pipelines.lora.files import StoredFile, store_path
from castsmith.providers.trainers._weights import read_header

CONTENT_TYPE = "application/octet-stream"
LOCAL_URL_SECONDS = 7 * 24 * 3600


def weights_url(services: Services, key: str) -> str:
    """The actor's ``lora_model_url``: the public S3 URL, else a long-lived signed link."""
    urls = services.urls
    if urls.backend == "s3":
        return urls.public_url(key)
    return urls.local_url(key, LOCAL_URL_SECONDS)


def check_file(path: Path, max_bytes: int) -> dict[str, Any]:
    """The file's safetensors header, or ``ValidationError`` naming ``weights``. Sync."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ValidationError(
            f"the weights file is {size} bytes, above the {max_bytes} byte limit", "weights"
        )
    return read_header(path)


async def store_weights(
    services: Services,
    training_id: int,
    actor_name: str,
    version: int,
    path: Path,
    *,
    make_current: bool = True,
    meta: dict[str, Any] | None = None,
) -> StoredFile:
    """Check, upload and record the weights of a version; make it current."""
    header = await asyncio.to_thread(check_file, path, services.settings.lora_max_weights_bytes)
    metadata = header.get("__metadata__") or {}
    key = services.keys.lora_weights(actor_name, version)

    def with_row(session: Session, asset: Asset) -> None:
        repo = LoraRepository(session, services.caller)
        repo.set(
            training_id,
            weights_key=asset.storage_key,
            weights_size=asset.size_bytes,
            weights_sha256=asset.sha256,
            status=SUCCEEDED,
            progress=100.0,
            finished_at=utcnow(),
        )
        session.flush()
        if make_current:
            row = repo.get(training_id)
            session.refresh(row)
            repo.make_current(row, weights_url(services, asset.storage_key))

    stored_meta = {
        "training_id": training_id,
        "version": version,
        "placeholder": metadata.get("castsmith.placeholder") == "true",
        **(meta or {}),
    }
    return await store_path(
        services,
        key,
        path,
        kind="lora_weights",
        content_type=CONTENT_TYPE,
        meta=stored_meta,
        with_row=with_row,
    )
