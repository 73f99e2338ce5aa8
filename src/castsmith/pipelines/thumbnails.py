"""Small WebP thumbnails of stored images, so the grids do not load every image at full size.

A thumbnail is an ``asset_renditions`` row named ``thumb`` (at most ``THUMB_SIDE`` px on
its long side, WebP) beside the image's asset. It is made right after a training,
persona or reference image is recorded (:func:`add_thumbnails`), and, for images stored
before thumbnails existed or whose thumbnail failed, on demand by
``GET /api/assets/{asset_id}/thumb`` (:func:`ensure_thumbnail`), once: the unique
``(asset_id, name)`` of the rendition table makes two concurrent makers settle on one.

Thumbnails live under their own ``thumbnails/`` prefix, never beside the image, so no
folder that is listed or zipped (a video job's files, a dataset) ever shows them. They are
derived files: the orphan cleanup keeps them while their row exists, and an actor's purge
removes them with its images.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from castsmith.db.models import Asset, AssetRendition
from castsmith.db.repositories.assets import AssetRepository
from castsmith.domain import access
from castsmith.domain.errors import CastsmithError, NotFound
from castsmith.imaging.inspect import hashes
from castsmith.imaging.renditions import WEBP, Rendition, make_thumbnail
from castsmith.pipelines._services import Services
from castsmith.pipelines._writer import free_key

log = logging.getLogger("castsmith.pipelines.thumbnails")

THUMB: Final = "thumb"
# The grids show 140-250 CSS px wide cells: 320 px stays sharp at 1.5x-2x pixel density,
# and at quality 80 a 320 px WebP is 10-25 KB, so 200 of them stay well under 5 MB.
THUMB_SIDE: Final = 320
THUMB_QUALITY: Final = 80
# A key only ever holds the thumbnail of one image's bytes (their digest is in it, and the
# encoding is deterministic), so caches may keep it forever.
CACHE_CONTROL: Final = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Thumb:
    """A stored thumbnail."""

    key: str
    width: int
    height: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Source:
    """An image just stored, as :func:`add_thumbnails` needs it."""

    asset_id: int
    data: bytes
    sha256: str


def thumbnail_key(asset_id: int, sha256: str) -> str:
    """Where the thumbnail of ``asset_id`` goes (the digest keeps libraries sharing a
    bucket apart: asset ids repeat across databases, their content rarely does)."""
    return f"thumbnails/{asset_id}_{(sha256 or 'unknown')[:16]}.webp"


def encode_thumbnail(data: bytes, max_pixels: int) -> Rendition:
    """The ``thumb`` WebP of an image's bytes (upright, sRGB, no metadata). Sync."""
    # libwebp's method 4 costs a few ms at this size and saves bytes on every page view.
    return make_thumbnail(
        data, THUMB_SIDE, name=THUMB, quality=THUMB_QUALITY, method=4, max_pixels=max_pixels
    )


def _row(asset_id: int, key: str, rendition: Rendition) -> AssetRendition:
    md5, _ = hashes(rendition.data)
    return AssetRendition(
        asset_id=asset_id,
        name=THUMB,
        storage_key=key,
        content_type=rendition.content_type,
        size_bytes=rendition.size_bytes,
        width=rendition.width,
        height=rendition.height,
        md5=md5,
    )


def _thumb(row: AssetRendition) -> Thumb:
    return Thumb(row.storage_key, row.width, row.height, row.size_bytes)


async def store_thumbnail(services: Services, source: Source) -> Thumb:
    """Encode, upload and record the thumbnail of ``source``; return it.

    When another maker recorded one first, that one is returned and this upload removed
    (unless it went to the same key: the encoding is deterministic, so the bytes there are
    the winner's too). ``NotFound`` when the asset is gone meanwhile.
    """
    rendition = await asyncio.to_thread(
        encode_thumbnail, source.data, services.settings.max_image_pixels
    )
    key = await free_key(services, thumbnail_key(source.asset_id, source.sha256))
    await services.store.put(key, rendition.data, content_type=WEBP, cache_control=CACHE_CONTROL)

    def record() -> Thumb | None:
        try:
            with services.sessions.begin() as session:
                row = _row(source.asset_id, key, rendition)
                session.add(row)
                session.flush()
                return _thumb(row)
        except IntegrityError:
            return None  # made meanwhile by someone else, or the asset was deleted

    def existing() -> Thumb | None:
        with services.sessions() as session:
            row = AssetRepository(session).rendition(source.asset_id, THUMB)
            return _thumb(row) if row is not None else None

    made = await asyncio.to_thread(record)
    if made is not None:
        return made
    other = await asyncio.to_thread(existing)
    # Two makers at once may have picked the same free key and written the same bytes
    # there: the object is the winner's then, and must stay.
    if other is None or other.key != key:
        await _discard(services, key)
    if other is None:
        raise NotFound(f"asset {source.asset_id} not found")
    return other


async def _discard(services: Services, key: str) -> None:
    try:
        await services.store.delete(key)
    except CastsmithError:
        log.warning("could not remove the unused thumbnail %s", key, exc_info=True)


async def add_thumbnails(services: Services, sources: Iterable[Source]) -> int:
    """Make the thumbnails of images just stored; return how many were made.

    Best effort: the image itself is already safely recorded, and a thumbnail that
    fails here is made on demand the first time a grid shows it, so a failure is
    logged, never raised into the job that stored the image.
    """
    made = 0
    for source in sources:
        try:
            await store_thumbnail(services, source)
            made += 1
        except (CastsmithError, OSError, ValueError, SQLAlchemyError):
            log.warning(
                "no thumbnail for asset %s yet; it is made when a grid first shows it",
                source.asset_id,
                exc_info=True,
            )
    return made


async def add_thumbnail(services: Services, asset_id: int, data: bytes, sha256: str) -> int:
    """:func:`add_thumbnails` for one image."""
    return await add_thumbnails(services, [Source(asset_id, data, sha256)])


def _visible_asset(services: Services, asset_id: int) -> tuple[Asset, Thumb | None]:
    """The caller's image asset ``asset_id`` and its thumbnail if made. Sync.

    ``NotFound`` - the answer for an unknown id too - when the asset is not an image, is
    deleted, or belongs to nobody the caller may see (its own owner, or the owner of the
    actor, persona task or reference that shows it).
    """
    with services.sessions() as session:
        repo = AssetRepository(session)
        asset = session.get(Asset, asset_id)
        missing = NotFound(f"image {asset_id} not found")
        if asset is None or asset.deleted_at is not None:
            raise missing
        # Width is not required: rows imported from older manifests never recorded one.
        if not (asset.content_type or "").startswith("image/"):
            raise missing
        scope = access.owner_scope(services.caller)
        if scope is not None and asset_id not in repo.held_by(scope, [asset_id]):
            raise missing
        row = repo.rendition(asset_id, THUMB)
        session.expunge(asset)
        return asset, _thumb(row) if row is not None else None


async def ensure_thumbnail(services: Services, asset_id: int) -> Thumb:
    """The thumbnail of the caller's image ``asset_id``, made now if it has none yet."""
    asset, thumb = await asyncio.to_thread(_visible_asset, services, asset_id)
    if thumb is not None:
        return thumb
    data = await services.store.get(asset.storage_key)
    return await store_thumbnail(services, Source(asset.id, data, asset.sha256))


def thumb_keys(services: Services, asset_ids: Iterable[int]) -> dict[int, str]:
    """Thumbnail keys of the assets that have one. Sync."""
    with services.sessions() as session:
        return AssetRepository(session).rendition_keys(asset_ids, THUMB)


async def thumb_url(services: Services, asset_id: int, key: str | None) -> str:
    """The URL a grid shows for ``asset_id``: its thumbnail's own (signed) URL when it
    has one, else the route that makes it on first use and redirects to it.

    The route's URL is relative: it needs the caller's login, which a browser sends
    only to the app's own origin, whatever ``public_base_url`` says.
    """
    if key is None:
        return f"/api/assets/{asset_id}/thumb"
    urls = services.urls
    if urls.backend == "s3" and urls.serve_from_cloud:
        return await urls.url_for(key)  # presigned: it names the second it was signed
    return urls.local_url(key, *steady_expiry(urls.default_expiry, time.time()))


def steady_expiry(lifetime: int, now: float) -> tuple[int, int]:
    """``(expires_in, now)`` for a signed link that stays the same for a while.

    A link expiring at ``now + lifetime`` changes every second, so a browser would fetch
    every thumbnail of a grid again on each view. Expiring at a multiple of half the
    lifetime instead, at least half and at most all of it away, keeps a thumbnail's link
    the same for half the lifetime (30 minutes by default), and the browser reuses the
    thumbnail it keeps (they are stored as cacheable for a year).
    """
    step = max(1, lifetime // 2)
    second = int(now)
    expires = (second // step + 2) * step
    return min(expires - second, lifetime), second
