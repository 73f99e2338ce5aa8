"""Import and export of the older scripts' files: ``actorsData.json`` and manifests.

``actorsData.json`` is a list of actor records (``id``, ``name``, ``poster_frames``
{accelerated, standard: {webp_sm, webp_md, webp_lg}} and more). Import creates or
updates actors by name: the record's ``id`` becomes ``legacy_id``, fields castsmith
models fill columns, everything else is kept in ``Actor.extra`` so export gives it back.
Imported poster URLs become a poster version (pointing at the keys parsed from them)
that remembers the URLs verbatim.

A manifest (``{character_id}_manifest.json``) lists an actor's training images:
each entry becomes a ``TrainingDataItem`` with an ``Asset`` at the key parsed from its
``s3_url`` (nothing is downloaded), keeping md5, size, timestamps and status;
``statistics`` are recomputed from the entries on export.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from castsmith.db.models import Actor, Asset, PosterFrameVersion, TrainingDataItem
from castsmith.db.repositories.actors import ActorRepository
from castsmith.db.repositories.assets import AssetRepository
from castsmith.domain.actors import (
    validate_actor_name,
    validate_age,
    validate_description,
    validate_token,
)
from castsmith.domain.errors import CastsmithError, ValidationError
from castsmith.domain.keys import validate_key, validate_name
from castsmith.pipelines.actors import poster_frames_json
from castsmith.pipelines.assets import Services, public_pair

RESERVED = "castsmith:"
"""Prefix of ``Actor.extra`` keys castsmith keeps for itself (never exported)."""
MANIFEST_KEY = f"{RESERVED}manifest"

_TEXT_COLUMNS = {"sex": 20, "ethnicity": 80, "style": 80, "actor_type": 40}
_LORA_COLUMNS = {"lora_model_url": 2048, "lora_name": 300, "lora_trigger_word": 200}
_N = re.compile(r"_(\d+)\.[A-Za-z0-9]+$")


def key_from_url(url: str, bucket: str = "") -> str | None:
    """The object key an S3 URL points at, or ``None`` when it names no usable key.

    Understands ``s3://bucket/key``, virtual-hosted (``bucket.s3....amazonaws.com/key``)
    and path-style (``s3.region.amazonaws.com/bucket/key``, ``{endpoint}/{bucket}/key``
    when ``bucket`` is the configured bucket) URLs.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = unquote(parts.path).lstrip("/")
    if parts.scheme not in {"s3", "http", "https"} or not path:
        return None
    first, _, rest = path.partition("/")
    path_style = host.startswith(("s3.", "s3-")) or (bucket and first == bucket)
    if parts.scheme != "s3" and path_style:
        path = rest
    try:
        return validate_key(path)
    except CastsmithError:
        return None


def _column_values(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a record into column values and the rest; only lossless values become columns."""
    columns: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in record.items():
        if key in {"name", "poster_frames"}:
            continue
        try:
            if key == "description" and isinstance(value, str):
                columns[key] = validate_description(value)
                continue
            if key == "age" and validate_age(value) == value and value is not None:
                columns[key] = value
                continue
            lossless_token = (
                key in _TEXT_COLUMNS
                and isinstance(value, str)
                and bool(value)
                and validate_token(value, key) == value
            )
            lossless_lora = (
                key in _LORA_COLUMNS
                and isinstance(value, str)
                and 0 < len(value) <= _LORA_COLUMNS[key]
            )
            if lossless_token or lossless_lora:
                columns[key] = value
                continue
        except ValidationError:
            pass
        rest[key] = value
    return columns, rest


def _import_poster(session: Session, actor: Actor, frames: dict[str, Any], bucket: str) -> bool:
    """Record imported poster URLs as the actor's current poster version (if new)."""
    repo = ActorRepository(session)
    current = repo.current_posters([actor.id]).get(actor.id)
    if current is not None and (current.params or {}).get("poster_frames") == frames:
        return False
    urls = [
        url
        for group in ("standard", "accelerated")
        for size in ("webp_lg", "webp_md", "webp_sm")
        if isinstance(url := (frames.get(group) or {}).get(size), str)
    ]
    key = next((k for k in (key_from_url(url, bucket) for url in urls) if k), None)
    if key is None:
        return False
    assets = AssetRepository(session)
    asset = assets.by_key(key) or assets.add(
        Asset(
            storage_key=key,
            kind="poster_frame",
            content_type="image/webp",
            size_bytes=0,
            md5="",
            sha256="",
            meta={"actor_id": actor.id, "source": "import"},
        )
    )
    latest = session.scalar(
        select(func.max(PosterFrameVersion.version)).where(PosterFrameVersion.actor_id == actor.id)
    )
    if current is not None:
        current.is_current = False
        session.flush()
    session.add(
        PosterFrameVersion(
            actor_id=actor.id,
            version=(latest or 0) + 1,
            asset_id=asset.id,
            is_current=True,
            params={"source": "import", "poster_frames": frames},
        )
    )
    session.flush()
    return True


def import_actors_data(
    session: Session, records: list[dict[str, Any]], *, bucket: str = ""
) -> dict[str, int]:
    """Create or update actors from ``actorsData.json`` records; return counts.

    Every record is checked before anything is written, so one bad record leaves the
    database unchanged (the caller's transaction).
    """
    if not isinstance(records, list):
        raise ValidationError("actorsData.json must hold a list of actor records", "file")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ValidationError(f"record {index} is not an object", "file")
        try:
            validate_actor_name(record.get("name"))
        except ValidationError as exc:
            raise ValidationError(f"record {index}: {exc}", "name") from None
    repo = ActorRepository(session)
    counts = {"created": 0, "updated": 0, "posters": 0}
    for record in records:
        columns, rest = _column_values(record)
        actor = repo.by_name(record["name"])
        if actor is None:
            actor = repo.add(Actor(name=record["name"], extra={}))
            counts["created"] += 1
        else:
            counts["updated"] += 1
        for column, value in columns.items():
            setattr(actor, column, value)
        kept = {k: v for k, v in (actor.extra or {}).items() if k.startswith(RESERVED)}
        actor.extra = {**rest, **kept}
        if "id" in record:
            actor.legacy_id = str(record["id"])[:100]
        frames = record.get("poster_frames")
        if isinstance(frames, dict) and _import_poster(session, actor, frames, bucket):
            counts["posters"] += 1
        elif frames is not None and not isinstance(frames, dict):
            actor.extra = {**actor.extra, "poster_frames": frames}
    session.flush()
    return counts


def export_record(actor: Actor, poster_frames: dict[str, Any] | None) -> dict[str, Any]:
    """One ``actorsData.json`` record: kept fields, then current column values."""
    extra = {k: v for k, v in (actor.extra or {}).items() if not k.startswith(RESERVED)}
    record: dict[str, Any] = {"id": extra.pop("id", actor.legacy_id or actor.id)}
    record["name"] = actor.name
    record.update(extra)
    if actor.description:
        record["description"] = actor.description
    for column in ("age", *_TEXT_COLUMNS, *_LORA_COLUMNS):
        value = getattr(actor, column)
        if value is not None:
            record[column] = value
    if poster_frames is not None:
        record["poster_frames"] = poster_frames
    return record


# --- manifests -------------------------------------------------------------------------


def _find_actor(session: Session, character_id: str, entries: list[dict[str, Any]]) -> Actor:
    repo = ActorRepository(session)
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


def import_manifest(session: Session, manifest: dict[str, Any], *, bucket: str = "") -> int:
    """Record one manifest's training images; return the actor's id."""
    if not isinstance(manifest, dict) or "character_id" not in manifest:
        raise ValidationError("a manifest must be an object with a character_id", "file")
    entries = manifest.get("training_data") or []
    if not isinstance(entries, list):
        raise ValidationError("training_data must be a list", "training_data")
    character_id = str(manifest["character_id"])
    actor = _find_actor(session, character_id, entries)
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
            asset = assets.add(
                Asset(
                    storage_key=key,
                    kind="training_image",
                    content_type="image/jpeg",
                    size_bytes=int(entry.get("size_bytes") or 0),
                    md5=str(entry.get("md5_hash") or ""),
                    sha256="",
                    meta=meta,
                )
            )
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


def export_manifest(session: Session, actor: Actor, url_for_key: dict[str, str]) -> dict[str, Any]:
    """The manifest of ``actor``; ``url_for_key`` gives URLs of items made by castsmith."""
    top = dict((actor.extra or {}).get(MANIFEST_KEY) or {})
    stats_extra = top.pop("statistics_extra", {})
    rows = session.execute(
        select(TrainingDataItem, Asset)
        .join(Asset, Asset.id == TrainingDataItem.asset_id)
        .where(TrainingDataItem.actor_id == actor.id)
        .order_by(TrainingDataItem.n)
    ).all()
    items: list[dict[str, Any]] = []
    for item, asset in rows:
        meta = {k: v for k, v in (asset.meta or {}).items() if k != "actor_id"}
        imported = "s3_url" in meta
        if item.status == "pending" and not imported:
            continue  # a number reserved by a generation still in progress
        changed = item.updated_at or item.created_at
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
        latest = max(item.updated_at or item.created_at for item, _ in rows)
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


def manifest_needs_urls(session: Session, actor: Actor) -> list[str]:
    """Keys of the actor's training assets that carry no imported ``s3_url``."""
    rows = session.scalars(
        select(Asset)
        .join(TrainingDataItem, TrainingDataItem.asset_id == Asset.id)
        .where(TrainingDataItem.actor_id == actor.id)
    )
    return [a.storage_key for a in rows if not (a.meta or {}).get("s3_url")]


# --- files ---------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read JSON ({exc})", "file") from None


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


async def import_actors_data_file(services: Services, path: Path) -> dict[str, int]:
    """Import an ``actorsData.json`` file in one transaction; return counts."""
    records = await asyncio.to_thread(_read_json, path)

    def write() -> dict[str, int]:
        with services.sessions.begin() as session:
            return import_actors_data(session, records, bucket=services.settings.s3_bucket)

    return await asyncio.to_thread(write)


async def import_manifests_dir(services: Services, folder: Path) -> list[int]:
    """Import every ``*_manifest.json`` in ``folder`` (one transaction); return actor ids."""

    def read() -> list[tuple[Path, Any]]:
        paths = sorted(folder.glob("*_manifest.json"))
        if not paths:
            raise ValidationError(f"no *_manifest.json files in {folder}", "dir")
        return [(path, _read_json(path)) for path in paths]

    manifests = await asyncio.to_thread(read)

    def write() -> list[int]:
        ids = []
        with services.sessions.begin() as session:
            for path, manifest in manifests:
                try:
                    ids.append(
                        import_manifest(session, manifest, bucket=services.settings.s3_bucket)
                    )
                except ValidationError as exc:
                    raise ValidationError(f"{path.name}: {exc}", exc.field) from None
        return ids

    return await asyncio.to_thread(write)


async def actors_data(services: Services) -> list[dict[str, Any]]:
    """Every live actor as an ``actorsData.json`` record."""

    def read() -> list[tuple[Actor, PosterFrameVersion | None, dict[str, str]]]:
        with services.sessions() as session:
            repo = ActorRepository(session)
            actors = list(repo.all_live())
            posters = repo.current_posters(a.id for a in actors)
            renditions = AssetRepository(session).renditions(p.asset_id for p in posters.values())
            out = []
            for actor in actors:
                poster = posters.get(actor.id)
                keys = {
                    r.name.removeprefix("webp_"): r.storage_key
                    for r in (renditions.get(poster.asset_id, []) if poster else [])
                }
                out.append((actor, poster, keys))
            return out

    records = []
    for actor, poster, keys in await asyncio.to_thread(read):
        records.append(export_record(actor, await poster_frames_json(services, poster, keys)))
    return records


async def export_actors_data_file(services: Services, path: Path) -> int:
    """Write every live actor to ``path`` as ``actorsData.json``; return the count."""
    records = await actors_data(services)
    await asyncio.to_thread(_write_json, path, records)
    return len(records)


async def actor_manifest(services: Services, actor_id: int) -> dict[str, Any]:
    """The manifest of one live actor (``NotFound`` when unknown)."""

    def keys() -> list[str]:
        with services.sessions() as session:
            actor = ActorRepository(session).get(actor_id)
            return manifest_needs_urls(session, actor)

    urls = {}
    for key in await asyncio.to_thread(keys):
        urls[key] = (await public_pair(services, key))[1]

    def read() -> dict[str, Any]:
        with services.sessions() as session:
            actor = ActorRepository(session).get(actor_id)
            return export_manifest(session, actor, urls)

    return await asyncio.to_thread(read)


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
        await asyncio.to_thread(_write_json, path, manifest)
        written.append(path)
    return written
