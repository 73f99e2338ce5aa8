"""Storing large LoRA files (dataset zips, weights) without holding them in memory.

They go through the asset writer like every other file: a local file is uploaded in
parts, a stream is hashed while it goes up, and a taken key becomes ``x_2.ext``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from castsmith.db.models import Asset
from castsmith.db.repositories.assets import AssetRepository
from castsmith.pipelines._assets import AssetProvenance, NewAsset, Reserved, numbered
from castsmith.pipelines._services import Services
from castsmith.pipelines._writer import write_assets


@dataclass(frozen=True)
class StoredFile:
    """A stored object and its facts."""

    key: str
    size: int
    md5: str
    sha256: str
    asset_id: int


async def _store(
    services: Services,
    key: str,
    body: Path | AsyncIterable[bytes],
    kind: str,
    content_type: str,
    meta: dict[str, Any],
    with_row: Callable[[Session, Asset], None] | None,
) -> StoredFile:
    def record(session: Session, reserved: Reserved) -> None:
        if with_row is not None:
            with_row(session, AssetRepository(session).get(reserved.ids[0]))

    provenance = AssetProvenance(provider=meta.get("provider"), meta=meta)
    saved = await write_assets(
        services, [NewAsset(body, kind, content_type, provenance)], numbered(key), record=record
    )
    facts = saved.facts[0]
    return StoredFile(saved.key, facts.size_bytes, facts.md5, facts.sha256, saved.id)


async def store_path(
    services: Services,
    key: str,
    path: Path,
    *,
    kind: str,
    content_type: str,
    meta: dict[str, Any],
    with_row: Callable[[Session, Asset], None] | None = None,
) -> StoredFile:
    """Upload the file at ``path`` (in parts) under a free key near ``key``; record it."""
    return await _store(services, key, path, kind, content_type, meta, with_row)


async def store_chunks(
    services: Services,
    key: str,
    chunks: AsyncIterable[bytes],
    *,
    kind: str,
    content_type: str,
    meta: dict[str, Any],
    with_row: Callable[[Session, Asset], None] | None = None,
) -> StoredFile:
    """Upload a stream of chunks under a free key near ``key``; record it."""
    return await _store(services, key, chunks, kind, content_type, meta, with_row)
