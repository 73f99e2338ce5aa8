"""An actor's training dataset: the manifest-like listing, reject/restore, zip export.

The listing keeps the shape of the older per-actor manifests (``training_data[]`` entries
with filename, s3_url, md5_hash, size_bytes, size_mb, modified_timestamp, modified_date,
status; ``statistics``; ``training_data_updated``) and adds ``id``, ``n``, ``prompt``,
``prompt_id``, a ``url`` a person can open and a ``thumb_url`` for grids. Rejecting an
image only flips its status: the object stays, so a restore brings it back. The export is
a zip in the layout LoRA trainers read: every non-rejected image next to a same-name
``.txt`` caption that starts with the trigger word, streamed one image at a time.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from castsmith.db.models import Asset, TrainingDataItem
from castsmith.db.repositories.assets import AssetRepository
from castsmith.db.repositories.training import REJECTED, SYNCED, TrainingRepository
from castsmith.domain.curation import Verdict
from castsmith.domain.errors import Conflict
from castsmith.domain.times import as_utc
from castsmith.domain.training_prompts import builtin_library
from castsmith.pipelines._assets import asset_url, public_pair
from castsmith.pipelines._checks import request_checks
from castsmith.pipelines._services import Services
from castsmith.pipelines.thumbnails import THUMB, thumb_url
from castsmith.pipelines.training.curation import item_checks
from castsmith.pipelines.training.images import (
    ActorFacts,
    load_actor,
)


def _modified(item: TrainingDataItem, asset: Asset) -> datetime:
    stamp = (asset.meta or {}).get("modified_timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, UTC)
    return as_utc(item.created_at)


def _iso(value: datetime) -> str:
    # The older manifests wrote naive ISO times; keep that shape (the time is UTC).
    return as_utc(value).astimezone(UTC).replace(tzinfo=None).isoformat()


async def _entry(
    services: Services, item: TrainingDataItem, asset: Asset, thumb_key: str | None
) -> dict[str, Any]:
    meta = asset.meta or {}
    modified = _modified(item, asset)
    # Entries imported from older manifests keep the URL and date they arrived with.
    s3_url = meta.get("s3_url") or (await public_pair(services, asset.storage_key))[1]
    return {
        "id": item.id,
        "n": item.n,
        "filename": item.filename,
        "s3_url": s3_url,
        "url": await asset_url(services, asset.storage_key),
        # What grids show: a small WebP (made on first use for images older than those).
        "thumb_url": await thumb_url(services, asset.id, thumb_key),
        "md5_hash": asset.md5,
        "size_bytes": asset.size_bytes,
        "size_mb": round(asset.size_bytes / (1024 * 1024), 2),
        "modified_timestamp": modified.timestamp(),
        "modified_date": meta.get("modified_date") or _iso(modified),
        "status": item.status,
        "prompt": item.prompt,
        "prompt_id": item.prompt_id,
        "provider": asset.provider,
        "width": asset.width,
        "height": asset.height,
    }


async def training_data(services: Services, actor_id: int) -> dict[str, Any]:
    """The manifest-like listing of an actor's training images (``NotFound`` if unknown)."""

    def read() -> tuple[ActorFacts, list[tuple[TrainingDataItem, Asset]], Any, dict[int, str]]:
        actor = load_actor(services, actor_id)
        with services.sessions() as session:
            repo = TrainingRepository(session)
            rows = list(repo.items(actor_id))
            thumbs = AssetRepository(session).rendition_keys((a.id for _, a in rows), THUMB)
            return actor, rows, repo.stats(actor_id), thumbs

    actor, rows, stats, thumbs = await asyncio.to_thread(read)
    entries = [await _entry(services, item, asset, thumbs.get(asset.id)) for item, asset in rows]
    checks = await item_checks(services, actor_id)
    for entry in entries:
        entry["checks"] = checks.get(entry["id"])
    if any(c["verdict"] == Verdict.PENDING for c in checks.values()):
        # A check lost to a crash or a race is asked for again; the key keeps it single.
        await request_checks(services, actor_id=actor_id)
    return {
        "character_id": actor.id,
        "actor_name": actor.name,
        "training_data": entries,
        "statistics": {
            "training_images_count": stats.images,
            "training_synced_count": stats.synced,
            "training_rejected_count": stats.rejected,
        },
        "training_data_updated": _iso(stats.updated) if stats.updated else None,
    }


async def set_item_status(
    services: Services, actor_id: int, item_id: int, status: str
) -> dict[str, Any]:
    """Reject (``rejected``) or restore (``synced``) one image; return its entry."""

    def write() -> tuple[TrainingDataItem, Asset, str | None]:
        load_actor(services, actor_id)
        with services.sessions.begin() as session:
            item = TrainingRepository(session).set_status(actor_id, item_id, status)
            asset = session.get(Asset, item.asset_id)
            assert asset is not None
            thumb = AssetRepository(session).rendition_keys([asset.id], THUMB).get(asset.id)
            return item, asset, thumb

    item, asset, thumb = await asyncio.to_thread(write)
    return await _entry(services, item, asset, thumb)


async def reject_item(services: Services, actor_id: int, item_id: int) -> dict[str, Any]:
    """Take an image out of the dataset; the object is kept so it can be restored."""
    return await set_item_status(services, actor_id, item_id, REJECTED)


async def restore_item(services: Services, actor_id: int, item_id: int) -> dict[str, Any]:
    """Put a rejected image back into the dataset."""
    return await set_item_status(services, actor_id, item_id, SYNCED)


def caption(trigger_word: str, prompt: str | None) -> str:
    """The caption file's text: the trigger word, then the prompt when known."""
    return f"{trigger_word}, {prompt}" if prompt else trigger_word


class Sink:
    """A write-only, unseekable file that hands written bytes back in chunks."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here."""

    def close(self) -> None:
        """Nothing to release."""

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


async def export_plan(
    services: Services, actor_id: int
) -> tuple[ActorFacts, list[tuple[str, str, str]]]:
    """The actor and ``(key, filename, caption)`` of every non-rejected image."""

    def read() -> tuple[ActorFacts, list[tuple[TrainingDataItem, Asset]]]:
        actor = load_actor(services, actor_id)
        with services.sessions() as session:
            return actor, list(TrainingRepository(session).items(actor_id, include_rejected=False))

    actor, rows = await asyncio.to_thread(read)
    trigger = actor.trigger_word or actor.name
    return actor, [
        (asset.storage_key, item.filename, caption(trigger, item.prompt)) for item, asset in rows
    ]


async def stream_zip(services: Services, files: list[tuple[str, str, str]]) -> AsyncIterator[bytes]:
    """Zip bytes of the images and their captions, produced one image at a time."""
    sink = Sink()
    # JPEGs are already compressed; storing them keeps the export fast.
    archive = zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED)
    for key, filename, text in files:
        data = await services.store.get(key)
        stem = filename.rsplit(".", 1)[0]
        archive.writestr(filename, data)
        archive.writestr(f"{stem}.txt", text.encode() + b"\n")
        chunk = sink.take()
        if chunk:
            yield chunk
    archive.close()
    yield sink.take()


async def export_zip(services: Services, actor_id: int) -> tuple[str, AsyncIterator[bytes]]:
    """The download name and the streamed zip of an actor's dataset.

    An actor without a non-rejected image raises ``Conflict``: an empty zip would look
    like a dataset to a trainer and silently train on nothing.
    """
    actor, files = await export_plan(services, actor_id)
    if not files:
        raise Conflict(
            f"actor {actor.name!r} has no training images to export; "
            "generate some first (castsmith training generate-all)"
        )
    return f"{actor.name}_training_data.zip", stream_zip(services, files)


def prompt_listing(actor_type: str | None, sex: str | None) -> dict[str, Any]:
    """The built-in training prompts, filtered by actor type and sex when given."""
    library = builtin_library()
    prompts = (
        library.for_actor(actor_type or "person", sex)
        if actor_type or sex
        else list(library.prompts)
    )
    return {
        "version": library.version,
        "prompts": [
            {
                "id": prompt.id,
                "text": prompt.text,
                "rendered": prompt.render(actor_type or "person", sex),
                "actor_types": list(prompt.actor_types),
                "sexes": list(prompt.sexes),
            }
            for prompt in prompts
        ],
    }
