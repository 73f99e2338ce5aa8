"""Import and export of the older scripts' ``actorsData.json``.

``actorsData.json`` is a list of actor records (``id``, ``name``, ``poster_frames``
{accelerated, standard: {webp_sm, webp_md, webp_lg}} and more). Import creates or
updates actors by name: the record's ``id`` becomes ``legacy_id``, fields castsmith
models fill columns, everything else is kept in ``Actor.extra`` so export gives it back.
Imported poster URLs become a poster version (pointing at the keys parsed from them)
that remembers the URLs verbatim.

Per-actor manifests are in :mod:`castsmith.pipelines.actors.manifests`.
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

from castsmith.db.models import Actor, Asset, PosterFrameVersion
from castsmith.db.repositories.actors import ActorRepository, current_posters
from castsmith.db.repositories.assets import AssetRepository
from castsmith.domain.access import Principal
from castsmith.domain.actors import (
    validate_actor_name,
    validate_age,
    validate_description,
    validate_strength,
    validate_token,
)
from castsmith.domain.errors import CastsmithError, Forbidden, ValidationError
from castsmith.domain.keys import validate_key
from castsmith.pipelines._assets import AssetProvenance, FileFacts, asset_row
from castsmith.pipelines._services import Services
from castsmith.pipelines.actors.export_fields import (
    POSTER_FRAME_URL,
    has_lora,
    lora_fields,
    poster_frame_url,
)
from castsmith.pipelines.actors.views import poster_frames_json

RESERVED = "castsmith:"
"""Prefix of ``Actor.extra`` keys castsmith keeps for itself (never exported)."""
MANIFEST_KEY = f"{RESERVED}manifest"

_TEXT_COLUMNS = {"sex": 20, "ethnicity": 80, "style": 80, "actor_type": 40}
_LORA_COLUMNS = {"lora_model_url": 2048, "lora_name": 300, "lora_trigger_word": 200}
_STRENGTH_COLUMNS = ("lora_strength_model", "lora_strength_clip")
_N = re.compile(r"_(\d+)\.[A-Za-z0-9]+\Z")


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
            if key in _STRENGTH_COLUMNS and not isinstance(value, bool):
                columns[key] = validate_strength(value, key)
                continue
        except ValidationError:
            pass
        rest[key] = value
    return columns, rest


def _import_poster(session: Session, actor: Actor, frames: dict[str, Any], bucket: str) -> bool:
    """Record imported poster URLs as the actor's current poster version (if new)."""
    current = current_posters(session, [actor.id]).get(actor.id)
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
    imported = AssetProvenance(meta={"actor_id": actor.id, "source": "import"})
    asset = assets.by_key(key) or assets.add(
        asset_row(key, FileFacts("image/webp", 0, "", ""), "poster_frame", imported)
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
    session: Session, records: list[dict[str, Any]], caller: Principal, *, bucket: str = ""
) -> dict[str, int]:
    """Create or update actors from ``actorsData.json`` records; return counts.

    Every record is checked before anything is written, so one bad record leaves the
    database unchanged (the caller's transaction). Records are matched by name across
    the whole library, so only an admin (or the operator) may import.
    """
    if not caller.is_admin:
        raise Forbidden("only an admin can import actorsData.json")
    if not isinstance(records, list):
        raise ValidationError("actorsData.json must hold a list of actor records", "file")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ValidationError(f"record {index} is not an object", "file")
        try:
            validate_actor_name(record.get("name"))
        except ValidationError as exc:
            raise ValidationError(f"record {index}: {exc}", "name") from None
    repo = ActorRepository(session, caller)
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


def export_record(
    actor: Actor, poster_frames: dict[str, Any] | None, poster_url: str | None = None
) -> dict[str, Any]:
    """One ``actorsData.json`` record: kept fields, then current column values, the
    LoRA's strengths (when it has one) and seed 000's ``poster_frame_url``."""
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
    if has_lora(actor):
        record.update(lora_fields(actor))
    if poster_url is not None:
        # The current poster's URL wins over one kept from an imported record.
        record[POSTER_FRAME_URL] = poster_url
    if poster_frames is not None:
        record["poster_frames"] = poster_frames
    return record


# --- manifests -------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read JSON ({exc})", "file") from None


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


async def import_actors_data_file(services: Services, path: Path) -> dict[str, int]:
    """Import an ``actorsData.json`` file in one transaction; return counts."""
    records = await asyncio.to_thread(read_json, path)

    def write() -> dict[str, int]:
        with services.sessions.begin() as session:
            return import_actors_data(
                session, records, services.caller, bucket=services.settings.s3_bucket
            )

    return await asyncio.to_thread(write)


async def actors_data(services: Services) -> list[dict[str, Any]]:
    """Every live actor as an ``actorsData.json`` record."""

    Row = tuple[Actor, PosterFrameVersion | None, dict[str, str], str | None]

    def read() -> list[Row]:
        with services.sessions() as session:
            repo = ActorRepository(session, services.caller)
            actors = list(repo.all_live())
            posters = current_posters(session, (a.id for a in actors))
            renditions = AssetRepository(session).renditions(p.asset_id for p in posters.values())
            ids = [p.asset_id for p in posters.values()]
            originals: dict[int, str] = {}
            if ids:
                query = select(Asset.id, Asset.storage_key).where(Asset.id.in_(ids))
                originals = {row.id: row.storage_key for row in session.execute(query)}
            out: list[Row] = []
            for actor in actors:
                poster = posters.get(actor.id)
                keys = {
                    r.name.removeprefix("webp_"): r.storage_key
                    for r in (renditions.get(poster.asset_id, []) if poster else [])
                }
                original = originals.get(poster.asset_id) if poster else None
                out.append((actor, poster, keys, original))
            return out

    records = []
    for actor, poster, keys, original in await asyncio.to_thread(read):
        frames = await poster_frames_json(services, poster, keys)
        url = await poster_frame_url(services, poster, original)
        records.append(export_record(actor, frames, url))
    return records


async def export_actors_data_file(services: Services, path: Path) -> int:
    """Write every live actor to ``path`` as ``actorsData.json``; return the count."""
    records = await actors_data(services)
    await asyncio.to_thread(write_json, path, records)
    return len(records)
