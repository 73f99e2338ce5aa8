"""Saving a poster as a new version, and the URLs users get for a version.

Order, so nothing is ever half-written and nothing is ever overwritten:

1. Reserve a version number: insert the source asset's row (keyed by its unique storage
   key, which contains the version) marked deleted, so no listing shows it yet. The
   unique key is the reservation: two jobs for one actor can never pick the same
   number, and numbers whose keys already hold objects are skipped.
2. Upload the source image and the three WebP renditions in parallel.
3. One transaction: un-hide the asset, insert the renditions and the version row, and
   make it current (unless asked not to: a draft to compare first). If it fails, the
   objects and the reservation are removed again.

A worker killed between 1 and 3 leaves a hidden asset row (and maybe some objects),
and the retried job takes the next number. The orphan cleanup drops such stale
reservations after its grace period (:func:`drop_stale_reservations`), which frees
their objects for removal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from castsmith.db.models import Actor, Asset, AssetRendition, PosterFrameVersion
from castsmith.db.repositories.assets import AssetRepository
from castsmith.db.repositories.posters import PosterRecord, PosterRepository
from castsmith.domain.errors import CastsmithError, StorageError
from castsmith.domain.keys import POSTER_SIZES, KeyLayout
from castsmith.domain.times import as_utc
from castsmith.imaging.inspect import ImageInfo, hashes
from castsmith.imaging.renditions import Rendition
from castsmith.pipelines._assets import AssetProvenance, public_pair
from castsmith.pipelines._services import Services
from castsmith.storage.base import PutItem

log = logging.getLogger("castsmith.pipelines.posters")

MAX_VERSION_TRIES = 50
SEED_SIZE_NAMES = {"sm": "webp_sm", "md": "webp_md", "lg": "webp_lg"}
CACHE_CONTROL = "public, max-age=31536000, immutable"  # a versioned key never changes


@dataclass(frozen=True)
class ActorRef:
    """The few actor fields that decide where its posters live."""

    id: int
    name: str
    owner_id: int | None

    @classmethod
    def of(cls, actor: Actor) -> ActorRef:
        """Copy the fields out of a row (usable after its session closed)."""
        return cls(actor.id, actor.name, actor.owner_id)


@dataclass(frozen=True)
class PosterKeys:
    """Where one version's files go."""

    version: int
    source: str
    renditions: dict[str, str]

    def all(self) -> list[str]:
        """Every key of the version."""
        return [self.source, *self.renditions.values()]


def poster_keys(
    layout: KeyLayout, actor: ActorRef, version: int, source_ext: str = "png"
) -> PosterKeys:
    """The keys of ``version``: the seed layout, or the user layout for owned actors.

    The source image sits beside the renditions, named after the layout's ``lg`` file.
    """
    renditions: dict[str, str]
    if actor.owner_id is not None:
        renditions = {
            size: layout.character_poster_frame(str(actor.owner_id), str(actor.id), version, size)
            for size in POSTER_SIZES
        }
    else:
        renditions = {size: layout.poster_frame(actor.name, version, size) for size in POSTER_SIZES}
    large = PurePosixPath(renditions["lg"])
    stem = large.stem.removesuffix("_lg")
    source = str(large.with_name(f"{stem}_source.{source_ext}"))
    return PosterKeys(version, source, renditions)


def _source_row(
    key: str, data: bytes, info: ImageInfo, actor: ActorRef, version: int, prov: AssetProvenance
) -> Asset:
    md5, sha256 = hashes(data)
    return Asset(
        storage_key=key,
        kind="poster_frame",
        content_type=info.content_type,
        size_bytes=len(data),
        md5=md5,
        sha256=sha256,
        width=info.width,
        height=info.height,
        provider=prov.provider,
        model=prov.model,
        prompt=prov.prompt,
        seed=prov.seed,
        provider_job_id=prov.provider_job_id,
        owner_id=actor.owner_id,
        meta={**prov.meta, "actor_id": actor.id, "poster_version": version},
        deleted_at=datetime.now(UTC),  # hidden until the version is recorded
    )


async def _reserve(
    services: Services,
    layout: KeyLayout,
    actor: ActorRef,
    data: bytes,
    info: ImageInfo,
    prov: AssetProvenance,
) -> tuple[PosterKeys, int]:
    def start() -> int:
        with services.sessions() as session:
            return PosterRepository(session).max_version(actor.id) + 1

    def try_insert(keys: PosterKeys) -> int | None:
        row = _source_row(keys.source, data, info, actor, keys.version, prov)
        try:
            with services.sessions.begin() as session:
                if AssetRepository(session).keys_taken(keys.all()):
                    return None
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError:
            return None

    version = await asyncio.to_thread(start)
    for _ in range(MAX_VERSION_TRIES):
        keys = poster_keys(layout, actor, version, info.extension)
        present = await asyncio.gather(*(services.store.exists(key) for key in keys.all()))
        if not any(present):
            asset_id = await asyncio.to_thread(try_insert, keys)
            if asset_id is not None:
                return keys, asset_id
        version += 1
    raise StorageError(f"no free poster version for actor {actor.name!r} near {version}")


async def save_poster_version(
    services: Services,
    layout: KeyLayout,
    actor: ActorRef,
    source: bytes,
    info: ImageInfo,
    renditions: Awaitable[Mapping[str, Rendition]],
    *,
    provenance: AssetProvenance,
    params: dict[str, Any],
    job_id: int | None = None,
    on_converted: Callable[[], Awaitable[None]] | None = None,
    make_current: bool = True,
) -> PosterKeys:
    """Store ``source`` and its renditions as the actor's next version and make it current
    (with ``make_current=False`` it joins the history and the current poster stays).

    ``renditions`` may still be in the making (a task): the version is reserved and
    the source uploaded meanwhile, so only the rendition uploads and the final
    transaction follow the conversion. ``on_converted`` runs once they are ready.
    """
    pending = asyncio.ensure_future(renditions)
    try:
        keys, asset_id = await _reserve(services, layout, actor, source, info, provenance)
    except BaseException:
        pending.cancel()
        raise
    source_put = asyncio.create_task(
        services.store.put(
            keys.source, source, content_type=info.content_type, cache_control=CACHE_CONTROL
        )
    )
    try:
        made = await pending
        if on_converted is not None:
            await on_converted()
        items = [
            PutItem(keys.renditions[size], made[size].data, made[size].content_type, CACHE_CONTROL)
            for size in POSTER_SIZES
        ]
        await services.store.put_many(items, concurrency=len(items))
        await source_put
        await asyncio.to_thread(
            _record, services, keys, asset_id, made, actor, params, job_id, make_current
        )
    except BaseException:
        pending.cancel()
        source_put.cancel()
        await asyncio.gather(source_put, return_exceptions=True)
        await _undo(services, keys, asset_id)
        raise
    return keys


def _record(
    services: Services,
    keys: PosterKeys,
    asset_id: int,
    renditions: Mapping[str, Rendition],
    actor: ActorRef,
    params: dict[str, Any],
    job_id: int | None,
    make_current: bool = True,
) -> None:
    """The one transaction that makes a reserved version real (and current, if asked)."""
    with services.sessions.begin() as session:
        asset = AssetRepository(session).get(asset_id)
        asset.deleted_at = None
        for size in POSTER_SIZES:
            rendition = renditions[size]
            session.add(
                AssetRendition(
                    asset_id=asset_id,
                    name=size,
                    storage_key=keys.renditions[size],
                    content_type=rendition.content_type,
                    size_bytes=rendition.size_bytes,
                    width=rendition.width,
                    height=rendition.height,
                    md5=hashes(rendition.data)[0],
                )
            )
        session.flush()
        PosterRepository(session).add_version(
            actor.id,
            keys.version,
            asset_id,
            params=params,
            job_id=job_id,
            make_current=make_current,
        )


async def _undo(services: Services, keys: PosterKeys, asset_id: int) -> None:
    # Shielded: a cancelled job must still take back what it wrote.
    async def work() -> None:
        for key in keys.all():
            try:
                await services.store.delete(key)
            except CastsmithError:
                log.warning("could not remove %s after a failed poster save", key)

        def drop_row() -> None:
            with services.sessions.begin() as session:
                session.execute(delete(Asset).where(Asset.id == asset_id))

        try:
            await asyncio.to_thread(drop_row)
        except Exception:
            log.warning("could not remove the reserved poster asset %s", asset_id)

    await asyncio.shield(work())


def drop_stale_reservations(sessions: Any, older_than: datetime) -> list[str]:
    """Delete version reservations made before ``older_than`` that never became versions.

    A reservation is a hidden asset row no poster version points at; only a save that
    died between reserving and recording leaves one behind. Returns their keys.
    """
    stale = (
        select(Asset.id, Asset.storage_key)
        .where(Asset.deleted_at.is_not(None), Asset.deleted_at < older_than)
        .where(
            ~select(PosterFrameVersion.id).where(PosterFrameVersion.asset_id == Asset.id).exists()
        )
    )
    with sessions.begin() as session:
        rows = session.execute(stale).all()
        if rows:
            session.execute(delete(Asset).where(Asset.id.in_([row.id for row in rows])))
    return [row.storage_key for row in rows]


# --- URLs ------------------------------------------------------------------------------


async def poster_frames(
    services: Services, rendition_keys: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    """The seed's ``poster_frames`` shape: ``{accelerated: {webp_sm, ...}, standard: {...}}``.

    AWS S3 gives the bucket's accelerated and standard URLs; a custom endpoint or the
    local store gives the user URL (presigned, or the app's signed link) for both.
    """
    pairs = await asyncio.gather(
        *(public_pair(services, rendition_keys[size]) for size in POSTER_SIZES)
    )
    accelerated = {SEED_SIZE_NAMES[s]: pair[0] for s, pair in zip(POSTER_SIZES, pairs, strict=True)}
    standard = {SEED_SIZE_NAMES[s]: pair[1] for s, pair in zip(POSTER_SIZES, pairs, strict=True)}
    return {"accelerated": accelerated, "standard": standard}


async def seed_response(
    services: Services, actor: ActorRef, rendition_keys: Mapping[str, str]
) -> dict[str, Any]:
    """The seed's regenerate response for a saved version."""
    return {
        "success": True,
        "actor_id": str(actor.id),
        "actor_name": actor.name,
        "poster_frames": await poster_frames(services, rendition_keys),
        "message": "Poster frame regenerated successfully",
    }


async def version_view(services: Services, record: PosterRecord) -> dict[str, Any]:
    """One history entry: the version, its URLs, parameters and provenance."""
    row, asset = record.version, record.asset
    keys = {name.removeprefix("webp_"): r.storage_key for name, r in record.renditions.items()}
    imported = (row.params or {}).get("poster_frames")
    if isinstance(imported, dict):
        frames: dict[str, Any] | None = imported
    elif all(size in keys for size in POSTER_SIZES):
        frames = await poster_frames(services, keys)
    else:
        frames = None
    created = as_utc(row.created_at)
    return {
        "version": row.version,
        "is_current": row.is_current,
        "created_at": created.isoformat() if created else None,
        "job_id": row.job_id,
        "seed": asset.seed,
        "provider": asset.provider,
        "model": asset.model,
        "placeholder": bool((asset.meta or {}).get("placeholder", False)),
        # What the provider changed to draw it (e.g. TeaCache left out on its server).
        "notes": list((asset.meta or {}).get("notes") or []),
        "params": row.params,
        "poster_frames": frames,
        "sizes": {
            name: {"width": r.width, "height": r.height, "size_bytes": r.size_bytes}
            for name, r in sorted(record.renditions.items())
        },
    }
