"""Storing large LoRA files (dataset zips, weights) without holding them in memory.

Like the asset writer, the object is uploaded first and its ``Asset`` row inserted
after it (so the orphan cleanup knows the key); a failed insert removes the object
again. Keys are never reused: a taken key becomes ``x_2.ext`` and so on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from castsmith.db.models import Asset
from castsmith.db.repositories.assets import AssetRepository
from castsmith.domain.errors import CastsmithError
from castsmith.pipelines._assets import free_key
from castsmith.pipelines._services import Services

log = logging.getLogger("castsmith.pipelines.lora")
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    """A stored object and its facts."""

    key: str
    size: int
    md5: str
    sha256: str
    asset_id: int


class Hashing:
    """Passes chunks through while counting and hashing them."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self.chunks = chunks
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha256 = hashlib.sha256()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks:
            self.size += len(chunk)
            self.md5.update(chunk)
            self.sha256.update(chunk)
            yield chunk


def file_hashes(path: Path) -> tuple[int, str, str]:
    """Size, md5 and sha256 of a file, read in chunks. Sync."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            size += len(chunk)
            md5.update(chunk)
            sha.update(chunk)
    return size, md5.hexdigest(), sha.hexdigest()


async def _record(
    services: Services,
    key: str,
    kind: str,
    content_type: str,
    facts: tuple[int, str, str],
    meta: dict[str, Any],
    with_row: Callable[[Session, Asset], None] | None,
) -> StoredFile:
    size, md5, sha = facts
    row = Asset(
        storage_key=key,
        kind=kind,
        content_type=content_type,
        size_bytes=size,
        md5=md5,
        sha256=sha,
        provider=meta.get("provider"),
        meta=meta,
    )

    def insert() -> int:
        with services.sessions.begin() as session:
            AssetRepository(session).add(row)
            if with_row is not None:
                with_row(session, row)
            return row.id

    try:
        asset_id = await asyncio.to_thread(insert)
    except BaseException:
        await discard(services, key)
        raise
    return StoredFile(key, size, md5, sha, asset_id)


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
    key = await free_key(services, key)
    facts = await asyncio.to_thread(file_hashes, path)
    await services.store.put_file(key, path, content_type=content_type)
    return await _record(services, key, kind, content_type, facts, meta, with_row)


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
    key = await free_key(services, key)
    hashing = Hashing(chunks)
    await services.store.put_stream(key, hashing, content_type=content_type)
    facts = (hashing.size, hashing.md5.hexdigest(), hashing.sha256.hexdigest())
    return await _record(services, key, kind, content_type, facts, meta, with_row)


async def discard(services: Services, key: str) -> None:
    """Remove an object after a failure; a failing delete is logged, not raised."""
    try:
        await services.store.delete(key)
    except CastsmithError:
        log.warning("could not remove %s after a failed write", key, exc_info=True)
