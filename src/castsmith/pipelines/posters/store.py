"""Saving a poster as a new version, and the URLs users get for a version.

A version is saved by the asset writer (:func:`~castsmith.pipelines._assets.write_assets`):
the version number is reserved by the source image's hidden row (its unique key holds
the version), the source and its three WebP renditions are uploaded, and one
transaction makes the row visible, records the renditions and the version, and makes it
current (unless asked not to: a draft to compare first). Two jobs for one actor never
pick the same number, numbers whose keys hold objects are skipped, and a failure
removes what was written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.orm import Session

from castsmith.db.models import Actor
from castsmith.db.repositories.assets import AssetRepository
from castsmith.db.repositories.posters import PosterRecord, PosterRepository
from castsmith.domain.keys import POSTER_SIZES, KeyLayout
from castsmith.domain.times import as_utc
from castsmith.imaging.inspect import ImageInfo
from castsmith.imaging.renditions import Rendition
from castsmith.pipelines._assets import (
    AssetKeys,
    AssetProvenance,
    FileFacts,
    NewAsset,
    Reserved,
    public_pair,
)
from castsmith.pipelines._services import Services
from castsmith.pipelines._writer import write_assets

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


def _poster_asset(
    actor: ActorRef,
    source: bytes,
    info: ImageInfo,
    prov: AssetProvenance,
    renditions: Awaitable[Mapping[str, Rendition]],
) -> NewAsset:
    return NewAsset(
        source,
        "poster_frame",
        info.content_type,
        replace(prov, owner_id=actor.owner_id, meta={**prov.meta, "actor_id": actor.id}),
        facts=FileFacts.of_image(info),
        cache_control=CACHE_CONTROL,
        renditions=renditions,
    )


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

    ``renditions`` may still be in the making (a task): the version is reserved
    meanwhile, so only the uploads and the final transaction follow the conversion.
    ``on_converted`` runs once they are ready.
    """

    async def converted() -> Mapping[str, Rendition]:
        made = await renditions
        if on_converted is not None:
            await on_converted()
        return made

    def keys_for(version: int) -> list[AssetKeys]:
        keys = poster_keys(layout, actor, version, info.extension)
        return [AssetKeys(keys.source, keys.renditions)]

    def first(session: Session) -> int:
        return PosterRepository(session, services.caller).max_version(actor.id) + 1

    def record(session: Session, reserved: Reserved) -> None:
        asset = AssetRepository(session).get(reserved.ids[0])
        asset.meta = {**(asset.meta or {}), "poster_version": reserved.n}
        PosterRepository(session, services.caller).add_version(
            actor.id,
            reserved.n,
            reserved.ids[0],
            params=params,
            job_id=job_id,
            make_current=make_current,
        )

    file = _poster_asset(actor, source, info, provenance, converted())
    saved = await write_assets(services, [file], keys_for, first=first, record=record)
    return PosterKeys(saved.n, saved.key, dict(saved.keys[0].renditions))


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
