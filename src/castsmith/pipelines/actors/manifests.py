"""Per-actor training manifests of the older scripts: ``{character_id}_manifest.json``.

A manifest lists an actor's training images: each entry becomes a ``TrainingDataItem``
with an ``Asset`` at the key parsed from its ``s3_url`` (nothing is downloaded), keeping
md5, size, timestamps and status; ``statistics`` are recomputed from the entries on export.
An exported manifest also carries the actor's LoRA (``lora_model_url``, ``lora_name``,
``lora_trigger_word``, ``lora_strength_model``, ``lora_strength_clip``) and seed 000's
``poster_frame_url``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.db.models import Actor, PosterFrameVersion, TrainingDataItem
from castsmith.db.repositories.actors import ActorRepository
from castsmith.db.repositories.assets import AssetRepository
from castsmith.db.repositories.training import PENDING
from castsmith.db.repositories.training_rows import DatasetRow, ItemRow, dataset_rows
from castsmith.domain.access import Principal
from castsmith.domain.actors import validate_actor_name
from castsmith.domain.errors import Forbidden, ValidationError
from castsmith.domain.keys import validate_name
from castsmith.pipelines._assets import AssetProvenance, FileFacts, asset_row, public_pair
from castsmith.pipelines._services import Services
from castsmith.pipelines.actors.export_fields import (
    POSTER_FRAME_URL,
    lora_fields,
    poster_frame_url,
    poster_source,
)
from castsmith.pipelines.actors.interchange import (
    MANIFEST_KEY,
    key_from_url,
    read_json,
    write_json,
)
from castsmith.pipelines.training.curation import ItemChecks, judge_rows, thresholds

_N = re.compile(r"_(\d+)\.[A-Za-z0-9]+\Z")


def _find_actor(
    session: Session, caller: Principal, character_id: str, entries: list[dict[str, Any]]
) -> Actor:
    repo = ActorRepository(session, caller)
    candidates = [character_id]
    if character_id.isdigit():
        candidates.append(str(int(character_id)))
    for legacy in candidates:
        actor = session.scalars(select(Actor).where(Actor.legacy_id == legacy)).first()
        if actor is not None:
            return actor
    actor = repo.by_name(character_id)
    if actor is not None:
        return actor
    prefix = f"{character_id}_".replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    actor = session.scalars(
        select(Actor).where(Actor.name.like(f"{prefix}%", escape="\\")).order_by(Actor.id)
    ).first()
    if actor is not None:
        return actor
    # No such actor yet: the training images' folder names it.
    name = character_id
    for entry in entries:
        key = key_from_url(str(entry.get("s3_url", "")))
        if key and key.count("/") >= 2:
            name = key.split("/")[-2]
            break
    return repo.add(Actor(name=validate_actor_name(name), legacy_id=character_id, extra={}))


def import_manifest(
    session: Session, manifest: dict[str, Any], caller: Principal, *, bucket: str = ""
) -> int:
    """Record one manifest's training images; return the actor's id.

    Manifests find their actor by legacy id or name across the whole library, so only
    an admin (or the operator) may import them.
    """
    if not caller.is_admin:
        raise Forbidden("only an admin can import training manifests")
    if not isinstance(manifest, dict) or "character_id" not in manifest:
        raise ValidationError("a manifest must be an object with a character_id", "file")
    entries = manifest.get("training_data") or []
    if not isinstance(entries, list):
        raise ValidationError("training_data must be a list", "training_data")
    character_id = str(manifest["character_id"])
    actor = _find_actor(session, caller, character_id, entries)
    assets = AssetRepository(session)
    existing = {
        item.filename: item
        for item in session.scalars(
            select(TrainingDataItem).where(TrainingDataItem.actor_id == actor.id)
        )
    }
    used_n = {item.n for item in existing.values()}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise ValidationError(f"training_data[{index}] has no filename", "training_data")
        key = key_from_url(str(entry.get("s3_url", "")), bucket)
        if key is None:
            raise ValidationError(
                f"training_data[{index}].s3_url names no object key: {entry.get('s3_url')!r}",
                "s3_url",
            )
        meta = {k: v for k, v in entry.items() if k not in {"md5_hash", "size_bytes", "status"}}
        meta["actor_id"] = actor.id
        asset = assets.by_key(key)
        if asset is None:
            # The object is already in the store: only its row is recorded.
            facts = FileFacts(
                "image/jpeg",
                int(entry.get("size_bytes") or 0),
                str(entry.get("md5_hash") or ""),
                "",
            )
            asset = assets.add(asset_row(key, facts, "training_image", AssetProvenance(meta=meta)))
        else:
            asset.size_bytes = int(entry.get("size_bytes") or asset.size_bytes)
            asset.md5 = str(entry.get("md5_hash") or asset.md5)
            asset.meta = {**(asset.meta or {}), **meta}
        item = existing.get(entry["filename"])
        status = str(entry.get("status") or "synced")
        if item is None:
            match = _N.search(entry["filename"])
            n = int(match.group(1)) if match else index
            while n in used_n:
                n += 1
            used_n.add(n)
            session.add(
                TrainingDataItem(
                    actor_id=actor.id,
                    n=n,
                    filename=entry["filename"],
                    asset_id=asset.id,
                    status=status,
                )
            )
        else:
            item.asset_id, item.status = asset.id, status
    top = {k: v for k, v in manifest.items() if k not in {"training_data", "statistics"}}
    stats = manifest.get("statistics")
    if isinstance(stats, dict):
        # Counts are recomputed; any other statistic is kept as it came.
        top["statistics_extra"] = {
            k: v
            for k, v in stats.items()
            if k not in {"training_images_count", "training_synced_count"}
        }
    actor.extra = {**(actor.extra or {}), MANIFEST_KEY: top}
    session.flush()
    return actor.id


def export_manifest(
    actor: Actor, rows: Sequence[DatasetRow], url_for_key: Mapping[str, str]
) -> dict[str, Any]:
    """The manifest of ``actor`` from its training ``rows`` (``pending`` ones included).

    ``url_for_key`` gives the URLs of the items castsmith made (:func:`manifest_needs_urls`).
    """
    top = dict((actor.extra or {}).get(MANIFEST_KEY) or {})
    stats_extra = top.pop("statistics_extra", {})
    items: list[dict[str, Any]] = []
    for item, asset, _ in rows:
        meta = {k: v for k, v in (asset.meta or {}).items() if k != "actor_id"}
        imported = "s3_url" in meta
        if not _shown(item, meta):
            continue
        changed = item.changed
        entry = {
            "filename": item.filename,
            "s3_url": url_for_key.get(asset.storage_key, meta.get("s3_url", "")),
            "md5_hash": asset.md5,
            "size_bytes": asset.size_bytes,
            "size_mb": round(asset.size_bytes / (1024 * 1024), 2),
            "modified_timestamp": changed.timestamp(),
            "modified_date": changed.replace(tzinfo=None).isoformat(),
            "status": item.status,
        }
        # Imported entries keep the values they arrived with (URL, dates, size_mb);
        # entries castsmith made carry only the manifest's own fields.
        if imported:
            entry.update(meta)
        items.append(entry)
    updated = top.pop("training_data_updated", None)
    if updated is None and rows:
        latest = max(item.changed for item, _, _ in rows)
        updated = latest.replace(tzinfo=None).isoformat()
    return {
        "character_id": top.pop("character_id", actor.legacy_id or actor.name),
        "training_data": items,
        "statistics": {
            **stats_extra,
            "training_images_count": sum(1 for entry in items if entry["status"] != "rejected"),
            "training_synced_count": sum(1 for entry in items if entry["status"] == "synced"),
        },
        "training_data_updated": updated,
        **top,
    }


def _shown(item: ItemRow, meta: Mapping[str, Any]) -> bool:
    # A pending item castsmith made is a number reserved by a generation still in
    # progress: no entry yet. An imported one is shown as it arrived.
    return item.status != PENDING or "s3_url" in meta


def manifest_needs_urls(rows: Sequence[DatasetRow]) -> list[str]:
    """Keys of the training assets the manifest shows that carry no imported ``s3_url``."""
    return [
        asset.storage_key
        for item, asset, _ in rows
        if _shown(item, asset.meta or {}) and not (asset.meta or {}).get("s3_url")
    ]


# --- files ---------------------------------------------------------------------------


async def import_manifests_dir(services: Services, folder: Path) -> list[int]:
    """Import every ``*_manifest.json`` in ``folder`` (one transaction); return actor ids."""

    def read() -> list[tuple[Path, Any]]:
        paths = sorted(folder.glob("*_manifest.json"))
        if not paths:
            raise ValidationError(f"no *_manifest.json files in {folder}", "dir")
        return [(path, read_json(path)) for path in paths]

    manifests = await asyncio.to_thread(read)

    def write() -> list[int]:
        ids = []
        with services.sessions.begin() as session:
            for path, manifest in manifests:
                try:
                    ids.append(
                        import_manifest(
                            session, manifest, services.caller, bucket=services.settings.s3_bucket
                        )
                    )
                except ValidationError as exc:
                    raise ValidationError(f"{path.name}: {exc}", exc.field) from None
        return ids

    return await asyncio.to_thread(write)


@dataclass(frozen=True)
class _Read:
    """What a manifest needs from the database, read in one session."""

    actor: Actor
    rows: list[DatasetRow]
    checks: list[ItemChecks]
    poster: PosterFrameVersion | None
    poster_key: str | None


async def actor_manifest(services: Services, actor_id: int) -> dict[str, Any]:
    """The manifest of one live actor (``NotFound`` when unknown)."""

    def read() -> _Read:
        # One trip to a worker thread and one read of the training rows: the entries,
        # the keys to sign and the curation checks all come from the same rows.
        with services.sessions() as session:
            actor = ActorRepository(session, services.caller).get(actor_id)
            rows = dataset_rows(session, actor_id, pending=True)
            limits = thresholds(services.settings, actor.extra)
            stored = [row for row in rows if row.item.status != PENDING]
            checks = judge_rows(session, actor, stored, limits)
            poster, key = poster_source(session, actor_id)
            return _Read(actor, rows, checks, poster, key)

    found = await asyncio.to_thread(read)
    urls = {}
    for key in manifest_needs_urls(found.rows):
        urls[key] = (await public_pair(services, key))[1]
    manifest = export_manifest(found.actor, found.rows, urls)
    derived = {
        **lora_fields(found.actor),
        POSTER_FRAME_URL: await poster_frame_url(services, found.poster, found.poster_key),
    }
    for name, value in derived.items():
        # The actor's own values win; an imported manifest's value stays where the actor
        # has none (its LoRA may live only in the file it came from).
        if value is not None or manifest.get(name) is None:
            manifest[name] = value
    checks = {item.verdict.name: item.checks for item in found.checks}
    for entry in manifest["training_data"]:
        entry["checks"] = checks.get(entry["filename"])
    return manifest


async def export_manifests_dir(services: Services, folder: Path) -> list[Path]:
    """Write ``{character_id}_manifest.json`` for every live actor with training data."""

    def ids() -> list[int]:
        with services.sessions() as session:
            rows = session.scalars(
                select(TrainingDataItem.actor_id)
                .join(Actor, Actor.id == TrainingDataItem.actor_id)
                .where(Actor.deleted_at.is_(None))
                .distinct()
            )
            return sorted(rows)

    written = []
    for actor_id in await asyncio.to_thread(ids):
        manifest = await actor_manifest(services, actor_id)
        name = validate_name(str(manifest["character_id"]), "character_id")
        path = folder / f"{name}_manifest.json"
        await asyncio.to_thread(write_json, path, manifest)
        written.append(path)
    return written
