"""Uploading a writer's files: bytes, local files in parts, and streams hashed on the way."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Mapping, Sequence
from pathlib import Path
from typing import Any

from castsmith.imaging.renditions import Rendition
from castsmith.pipelines._assets import CopyOf, FileFacts, NewAsset, Reserved
from castsmith.pipelines._services import Services
from castsmith.storage.base import PutItem

CHUNK = 1024 * 1024


class _Hashing:
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


def _file_facts(path: Path, content_type: str) -> FileFacts:
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            size += len(chunk)
            md5.update(chunk)
            sha.update(chunk)
    return FileFacts(content_type, size, md5.hexdigest(), sha.hexdigest())


async def known_facts(file: NewAsset) -> FileFacts | None:
    """The facts known before the upload (a stream's are known only after it)."""
    if file.facts is not None:
        return file.facts
    if isinstance(file.body, bytes):
        return await asyncio.to_thread(FileFacts.of_bytes, file.body, file.content_type)
    if isinstance(file.body, Path):
        return await asyncio.to_thread(_file_facts, file.body, file.content_type)
    if isinstance(file.body, CopyOf):
        raise ValueError(f"a copy of {file.body.key} needs the facts of its source")
    return None


async def upload(
    services: Services,
    files: Sequence[NewAsset],
    known: Sequence[FileFacts | None],
    reserved: Reserved,
    renditions: Sequence[Mapping[str, Rendition]],
) -> list[FileFacts]:
    items: list[PutItem] = []
    singles: list[Awaitable[Any]] = []
    streams: dict[int, _Hashing] = {}
    for index, (file, keys) in enumerate(zip(files, reserved.keys, strict=True)):
        store = services.store
        if isinstance(file.body, bytes):
            items.append(PutItem(keys.key, file.body, file.content_type, file.cache_control))
        elif isinstance(file.body, CopyOf):
            singles.append(store.copy(file.body.key, keys.key))
        elif isinstance(file.body, Path):
            singles.append(
                store.put_file(
                    keys.key,
                    file.body,
                    content_type=file.content_type,
                    cache_control=file.cache_control,
                )
            )
        else:
            streams[index] = hashing = _Hashing(file.body)
            singles.append(
                store.put_stream(
                    keys.key,
                    hashing,
                    content_type=file.content_type,
                    cache_control=file.cache_control,
                )
            )
        for name, rendition in renditions[index].items():
            rendition_key = keys.renditions[name]
            items.append(
                PutItem(rendition_key, rendition.data, rendition.content_type, file.cache_control)
            )
    if items:
        singles.append(services.store.put_many(items, concurrency=min(len(items), 8)))
    await _all_or_cancel(singles)
    facts: list[FileFacts] = []
    for index, file in enumerate(files):
        sent = streams.get(index)
        if sent is not None:
            facts.append(
                FileFacts(
                    file.content_type, sent.size, sent.md5.hexdigest(), sent.sha256.hexdigest()
                )
            )
        else:
            found = known[index]
            assert found is not None  # bytes and paths are measured before the upload
            facts.append(found)
    return facts


async def _all_or_cancel(calls: Sequence[Awaitable[Any]]) -> None:
    """Run ``calls`` together; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
