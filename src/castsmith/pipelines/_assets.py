"""Store bytes and record them as an ``Asset``: the one way every pipeline saves a file.

The order is fixed so nothing is ever half-written: the object is uploaded first, then
the row (and whatever else the caller records with it) is inserted in one transaction;
if that transaction fails, the new object is deleted again. Keys are never reused: a
taken key is turned into a fresh one (``x.jpg`` -> ``x_2.jpg``) by :func:`free_key`.

Usage::

    asset = await store_asset(services, key, data, kind="base_image",
                              provenance=AssetProvenance(provider="offline"))
    url = await asset_url(services, asset.storage_key)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.orm import Session

from castsmith.db.models import Asset
from castsmith.db.repositories.assets import AssetRepository
from castsmith.domain.errors import CastsmithError, StorageError
from castsmith.imaging.inspect import hashes, inspect_image
from castsmith.pipelines._services import Services

log = logging.getLogger("castsmith.pipelines._assets")

MAX_KEY_ATTEMPTS = 1000


@dataclass(frozen=True)
class AssetProvenance:
    """Where an asset came from, recorded on its row."""

    provider: str | None = None
    model: str | None = None
    prompt: str | None = None
    seed: int | None = None
    provider_job_id: str | None = None
    parent_asset_id: int | None = None
    owner_id: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


def _numbered(key: str, n: int) -> str:
    path = PurePosixPath(key)
    return str(path.with_name(f"{path.stem}_{n}{path.suffix}"))


async def free_key(services: Services, key: str) -> str:
    """``key`` if neither a row nor an object uses it, else the first free ``stem_N.ext``."""
    for n in range(1, MAX_KEY_ATTEMPTS + 1):
        candidate = key if n == 1 else _numbered(key, n)

        def taken_in_db(k: str = candidate) -> bool:
            with services.sessions() as session:
                return bool(AssetRepository(session).keys_taken([k]))

        if not await asyncio.to_thread(taken_in_db) and not await services.store.exists(candidate):
            return candidate
    raise StorageError(f"no free key near {key!r} after {MAX_KEY_ATTEMPTS} tries")


def _row(
    key: str,
    data: bytes,
    content_type: str,
    kind: str,
    provenance: AssetProvenance,
    width: int | None,
    height: int | None,
) -> Asset:
    md5, sha256 = hashes(data)
    return Asset(
        storage_key=key,
        kind=kind,
        content_type=content_type,
        size_bytes=len(data),
        md5=md5,
        sha256=sha256,
        width=width,
        height=height,
        provider=provenance.provider,
        model=provenance.model,
        prompt=provenance.prompt,
        seed=provenance.seed,
        provider_job_id=provenance.provider_job_id,
        parent_asset_id=provenance.parent_asset_id,
        owner_id=provenance.owner_id,
        meta=dict(provenance.meta),
    )


async def store_asset(
    services: Services,
    key: str,
    data: bytes,
    *,
    kind: str = "image",
    content_type: str | None = None,
    provenance: AssetProvenance | None = None,
    is_image: bool = True,
    with_row: Callable[[Session, Asset], None] | None = None,
) -> Asset:
    """Upload ``data`` under ``key`` and insert its ``Asset`` row; return the row.

    Images are inspected first (format, size, pixel limit; ``ImageError`` when the bytes
    are not one) and their sniffed content type wins over ``content_type``.
    ``with_row(session, asset)`` runs inside the inserting transaction, so a caller can
    point other rows at the new asset atomically. On any failure after the upload the
    object is deleted again and the error re-raised.
    """
    provenance = provenance or AssetProvenance()
    width = height = None
    if is_image:
        info = await asyncio.to_thread(
            inspect_image, data, max_pixels=services.settings.max_image_pixels
        )
        content_type, width, height = info.content_type, info.width, info.height
    content_type = content_type or "application/octet-stream"
    row = _row(key, data, content_type, kind, provenance, width, height)
    await services.store.put(key, data, content_type=content_type)

    def record() -> Asset:
        with services.sessions.begin() as session:
            AssetRepository(session).add(row)
            if with_row is not None:
                with_row(session, row)
        return row

    try:
        return await asyncio.to_thread(record)
    except BaseException:
        await _discard(services, key)
        raise


async def _discard(services: Services, key: str) -> None:
    try:
        await services.store.delete(key)
    except CastsmithError:
        log.warning("could not remove %s after a failed insert", key, exc_info=True)


async def asset_url(services: Services, key: str) -> str:
    """The URL to give a user for ``key``: presigned on S3, locally signed otherwise."""
    return await services.urls.url_for(key)


async def public_pair(services: Services, key: str) -> tuple[str, str]:
    """``(accelerated, standard)`` URLs of ``key`` as the seeds' files record them.

    On AWS S3 these are the bucket's public URLs; on a custom endpoint or the local
    store (where no such URLs exist) both are the user URL of :func:`asset_url`.
    """
    urls = services.urls
    if urls.backend == "s3" and not urls.endpoint:
        standard = urls.standard_url(key)
        try:
            return urls.accelerated_url(key), standard
        except CastsmithError:
            return standard, standard
    url = await asset_url(services, key)
    return url, url
