"""Character references for video jobs (seed 004).

A reference is generated from a description (1 to 4 images), stored under
``character_references/{image_id}.{ext}`` and recorded as a ``CharacterReference`` row.
Attaching references to a video job copies them to
``videos/{job_id}/intermediate/character_reference/{image_id}.{ext}``.

When the store is a cloud bucket, a copy of each generated image is also kept in the
data folder, so a reference can still be served while the bucket is unreachable.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, CharacterReference
from castsmith.db.owned import owned_by
from castsmith.db.repositories.actors import ActorRepository
from castsmith.domain.errors import (
    NotFound,
    StorageUnavailable,
    ValidationError,
)
from castsmith.domain.keys import validate_segment
from castsmith.jobs.types import JobSpec, JobView
from castsmith.pipelines._assets import asset_url
from castsmith.pipelines._services import Services
from castsmith.pipelines.thumbnails import thumb_keys, thumb_url

log = logging.getLogger("castsmith.pipelines.references")

KIND_GENERATE = "reference.generate"
ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
MAX_DESCRIPTION = 2000
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclass(frozen=True)
class ReferenceRequest:
    """A validated request for reference images."""

    description: str
    num_images: int = 4
    aspect_ratio: str = "1:1"
    seed: int | None = None
    owner_id: int | None = None
    actor_id: int | None = None
    """The actor the references are made for (checked by :func:`check_actor`)."""

    def __post_init__(self) -> None:
        text = " ".join(self.description.split())
        if not text:
            raise ValidationError(
                "character_description must not be empty", "character_description"
            )
        if len(text) > MAX_DESCRIPTION:
            raise ValidationError(
                f"character_description is {len(text)} characters; at most {MAX_DESCRIPTION}",
                "character_description",
            )
        if not 1 <= self.num_images <= 4:
            raise ValidationError(
                f"num_images must be between 1 and 4; got {self.num_images}", "num_images"
            )
        if self.aspect_ratio not in ASPECT_RATIOS:
            raise ValidationError(
                f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}; "
                f"got {self.aspect_ratio!r}",
                "aspect_ratio",
            )
        object.__setattr__(self, "description", text)

    def payload(self) -> dict[str, Any]:
        """The job payload. The owner is not in it: the job's owner (its caller) owns
        what it makes, so a payload cannot plant rows in someone else's name."""
        return {
            "character_description": self.description,
            "num_images": self.num_images,
            "aspect_ratio": self.aspect_ratio,
            "seed": self.seed,
            "actor_id": self.actor_id,
        }


class ActorNotFound(NotFound):
    """The ``actor_id`` of a request names no actor the caller may use."""

    field = "actor_id"


async def check_actor(services: Services, actor_id: int) -> None:
    """``ActorNotFound`` unless ``actor_id`` is a live actor the caller may access."""

    def read() -> None:
        with services.sessions() as session:
            try:
                ActorRepository(session, services.caller).get(actor_id)
            except NotFound as exc:
                raise ActorNotFound(f"actor_id: no actor with id {actor_id}") from exc

    await asyncio.to_thread(read)


def cache_path(services: Services, key: str) -> Path:
    """Where the local fallback copy of ``key`` lives."""
    return Path(services.settings.data_dir) / "reference-cache" / key


def enqueue_generate(
    services: Services, request: ReferenceRequest, *, webhook_url: str | None = None
) -> JobView:
    """Queue a generation job (the provider's limits apply); ``webhook_url`` receives a
    POST when it ends."""
    provider = services.providers.for_role("reference")
    spec = JobSpec(
        kind=KIND_GENERATE,
        payload=request.payload(),
        provider=provider.name,
        webhook_url=webhook_url,
        owner_id=services.caller.user_id,
    )
    return services.queue.enqueue_many([spec])[0]


# --- reading references ---------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceRow:
    """A reference with the key of its object."""

    id: str
    description: str
    aspect_ratio: str
    key: str
    content_type: str
    video_job_id: str | None
    source_reference_id: str | None
    created_at: Any
    actor_id: int | None = None
    asset_id: int | None = None


def _rows(session: Session, query: Any) -> list[ReferenceRow]:
    return [
        ReferenceRow(
            id=ref.id,
            description=ref.description,
            aspect_ratio=ref.aspect_ratio,
            key=asset.storage_key,
            content_type=asset.content_type,
            video_job_id=ref.video_job_id,
            source_reference_id=ref.source_reference_id,
            created_at=ref.created_at,
            actor_id=ref.actor_id,
            asset_id=asset.id,
        )
        for ref, asset in session.execute(query)
    ]


def _base_query() -> Any:
    return select(CharacterReference, Asset).join(Asset, Asset.id == CharacterReference.asset_id)


async def find(services: Services, image_id: str, *, signed: bool = False) -> ReferenceRow:
    """The standalone reference ``image_id``; ``NotFound`` with a clear message.

    ``signed`` is for a signed link, whose signature is the authorization: the caller
    may be anyone (even without a login), so the owner is not checked here.
    """
    validate_segment(image_id, "image_id")
    owned = [] if signed else owned_by(CharacterReference.owner_id, services.caller)

    def read() -> list[ReferenceRow]:
        with services.sessions() as session:
            return _rows(
                session,
                _base_query().where(
                    CharacterReference.id == image_id,
                    CharacterReference.video_job_id.is_(None),
                    *owned,
                ),
            )

    rows = await asyncio.to_thread(read)
    if not rows:
        raise NotFound(f"no character reference with id '{image_id}'")
    return rows[0]


async def list_references(
    services: Services,
    *,
    video_job_id: str | None = None,
    actor_id: int | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[ReferenceRow]:
    """References, newest first; standalone ones unless ``video_job_id`` is given;
    only those made for ``actor_id`` when it is given."""

    def read() -> list[ReferenceRow]:
        query = _base_query()
        if video_job_id is None:
            query = query.where(CharacterReference.video_job_id.is_(None))
        else:
            query = query.where(CharacterReference.video_job_id == video_job_id)
        if actor_id is not None:
            query = query.where(CharacterReference.actor_id == actor_id)
        query = query.where(*owned_by(CharacterReference.owner_id, services.caller))
        query = query.order_by(CharacterReference.created_at.desc(), CharacterReference.id)
        with services.sessions() as session:
            return _rows(session, query.limit(limit))

    return await asyncio.to_thread(read)


async def image_base64(services: Services, key: str) -> str:
    """The object's bytes as base64 (the seed's response carries them inline)."""
    return base64.b64encode(await services.store.get(key)).decode()


@dataclass(frozen=True)
class ServedUrl:
    """Where a user can fetch a reference, and how it is served."""

    url: str
    backend: str
    expires_in: int


async def serve_url(services: Services, ref: ReferenceRow) -> ServedUrl:
    """A presigned (S3) or signed (local) URL; the local copy when the cloud is down."""
    expires = services.settings.presigned_url_expiry
    if services.store.backend == "local":
        return ServedUrl(await asset_url(services, ref.key), "local", expires)
    try:
        present = await services.store.head(ref.key) is not None
    except StorageUnavailable:
        present = False
        log.warning("object store unreachable; serving %s from the local copy", ref.key)
    if present:
        return ServedUrl(await asset_url(services, ref.key), "s3", expires)
    if cache_path(services, ref.key).exists():
        return ServedUrl(local_copy_url(services, ref), "local", expires)
    raise NotFound(f"character reference '{ref.id}' has no stored image")


def local_copy_url(services: Services, ref: ReferenceRow) -> str:
    """A signed app URL for the local fallback copy of a reference."""
    urls = services.urls
    expires = int(time.time()) + services.settings.presigned_url_expiry
    sig = urls.signature(f"reference-cache/{ref.key}", expires)
    return (
        f"{services.settings.public_base_url}/api/mv/character_reference_file/{ref.id}"
        f"?expires={expires}&sig={sig}"
    )


def verify_local_copy(services: Services, ref: ReferenceRow, expires: int, sig: str) -> Path:
    """The cache file of ``ref`` if the signature is valid."""
    reason = services.urls.why_refused(f"reference-cache/{ref.key}", expires, sig)
    if reason:
        raise ValidationError(reason, "sig")
    path = cache_path(services, ref.key)
    if not path.exists():
        raise NotFound(f"no local copy of character reference '{ref.id}'")
    return path


async def describe(services: Services, rows: list[ReferenceRow]) -> list[dict[str, Any]]:
    """References as JSON-ready dicts, each with a URL to fetch its image.

    A standalone reference is served as :func:`serve_url` decides (its local copy when
    the bucket is down); a video job's copy by the store's own URL. ``thumb_url`` is the
    small WebP a gallery shows.
    """
    ids = [row.asset_id for row in rows if row.asset_id is not None]
    thumbs = await asyncio.to_thread(thumb_keys, services, ids)
    out = []
    for row in rows:
        if row.video_job_id is None:
            url = (await serve_url(services, row)).url
        else:
            url = await services.urls.url_for(row.key)
        out.append(
            {
                "id": row.id,
                "description": row.description,
                "aspect_ratio": row.aspect_ratio,
                "cloud_path": row.key,
                "image_url": url,
                "thumb_url": (
                    await thumb_url(services, row.asset_id, thumbs.get(row.asset_id))
                    if row.asset_id is not None
                    else None
                ),
                "video_job_id": row.video_job_id,
                "source_reference_id": row.source_reference_id,
                "actor_id": row.actor_id,
                "created_at": row.created_at,
            }
        )
    return out
