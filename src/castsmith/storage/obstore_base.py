"""The parts of an :class:`ObjectStore` shared by every obstore-backed backend.

obstore's ``put`` is atomic on every backend: the local store writes a staging file
and renames it into place, S3 makes the object visible only when the (multipart)
upload completes. Backends differ in where content type and cache control live, so
subclasses provide the ``_attributes_*`` hooks.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import obstore

from castsmith.domain.keys import validate_key, validate_prefix
from castsmith.domain.times import as_utc
from castsmith.storage.base import ObjectMeta, ObjectStore, StoredObject
from castsmith.storage.errors import translated

if TYPE_CHECKING:
    from obstore.store import ObjectStore as ObstoreHandle

PART_SIZE = 5 * 1024 * 1024  # the S3 minimum part size; also obstore's default
PART_CONCURRENCY = 8


def meta_from(
    raw: Any, content_type: str | None = None, cache_control: str | None = None
) -> ObjectMeta:
    """Our :class:`ObjectMeta` from obstore's ``ObjectMeta`` dict."""
    modified = raw["last_modified"]
    if isinstance(modified, datetime):
        modified = as_utc(modified)
    return ObjectMeta(
        key=str(raw["path"]),
        size=int(raw["size"]),
        last_modified=modified,
        etag=raw.get("e_tag"),
        content_type=content_type,
        cache_control=cache_control,
    )


def header_attributes(content_type: str, cache_control: str | None) -> dict[str, str]:
    """The obstore attribute dict for our two stored headers."""
    attributes = {"Content-Type": content_type}
    if cache_control:
        attributes["Cache-Control"] = cache_control
    return attributes


class _Counter:
    """Counts the bytes of a stream as obstore consumes it."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self.size = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            self.size += len(chunk)
            yield chunk


class ObstoreBackedStore(ObjectStore):
    """Shared put/get/list/delete/copy over an obstore store.

    ``_reader`` serves reads; ``_writer`` serves writes (on S3 it may carry an ACL
    header that reads must not send).
    """

    def __init__(
        self,
        reader: ObstoreHandle,
        writer: ObstoreHandle,
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._secrets = tuple(secret for secret in secrets if secret)

    # --- hooks -------------------------------------------------------------------
    def _check_key(self, key: str) -> str:
        return validate_key(key)

    def _put_attributes(self, attributes: dict[str, str]) -> dict[str, str] | None:
        """Attributes to hand obstore with the write, or ``None`` if it cannot keep them."""
        return attributes

    async def _save_attributes(self, key: str, attributes: dict[str, str]) -> None:
        """Keep attributes the backend could not take with the write."""

    async def _forget_attributes(self, key: str) -> None:
        """Drop kept attributes of a deleted key."""

    async def _copy_attributes(self, src: str, dst: str) -> None:
        """Copy kept attributes along with an object."""

    def _listed(self, raw_path: str) -> bool:
        """False for backend bookkeeping files that must not show up in listings."""
        return True

    def _guard(self, action: str, key: str) -> Any:
        return translated(action=action, key=key, backend=self.backend, secrets=self._secrets)

    # --- writes ------------------------------------------------------------------
    async def _write(
        self,
        key: str,
        payload: Any,
        size: int | None,
        content_type: str,
        cache_control: str | None,
    ) -> StoredObject:
        self._check_key(key)
        attributes = header_attributes(content_type, cache_control)
        with self._guard("write", key):
            # Metadata first: if the object write then fails, the leftover metadata
            # belongs to no visible object and is replaced by the next write.
            await self._save_attributes(key, attributes)
            result = await obstore.put_async(
                self._writer,
                key,
                payload,
                attributes=self._put_attributes(attributes),
                chunk_size=PART_SIZE,
                max_concurrency=PART_CONCURRENCY,
            )
        final_size = payload.size if isinstance(payload, _Counter) else size
        return StoredObject(
            key=key, size=int(final_size or 0), etag=result.get("e_tag"), content_type=content_type
        )

    async def put(
        self, key: str, data: bytes, *, content_type: str, cache_control: str | None = None
    ) -> StoredObject:
        return await self._write(key, bytes(data), len(data), content_type, cache_control)

    async def put_file(
        self, key: str, path: Path, *, content_type: str, cache_control: str | None = None
    ) -> StoredObject:
        path = Path(path)
        with self._guard("read local file for", key):
            size = path.stat().st_size
        return await self._write(key, path, size, content_type, cache_control)

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        cache_control: str | None = None,
    ) -> StoredObject:
        counter = _Counter(chunks)
        return await self._write(key, counter, None, content_type, cache_control)

    # --- reads -------------------------------------------------------------------
    async def get(self, key: str) -> bytes:
        self._check_key(key)
        with self._guard("read", key):
            result = await obstore.get_async(self._reader, key)
            return bytes(await result.bytes_async())

    async def get_stream(self, key: str, *, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        self._check_key(key)
        with self._guard("read", key):
            result = await obstore.get_async(self._reader, key)
        stream = result.stream(min_chunk_size=chunk_size)
        while True:
            with self._guard("read", key):
                try:
                    chunk = await stream.__anext__()
                except StopAsyncIteration:
                    return
            yield bytes(chunk)

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectMeta]:
        cleaned = validate_prefix(prefix)
        with self._guard("list", cleaned or "/"):
            pages = obstore.list(self._reader, prefix=cleaned or None, chunk_size=500)
            async for page in pages:
                for raw in page:
                    if self._listed(str(raw["path"])):
                        yield meta_from(raw)

    # --- changes -----------------------------------------------------------------
    async def delete(self, key: str) -> None:
        self._check_key(key)
        with self._guard("delete", key):
            with contextlib.suppress(FileNotFoundError):  # deleting twice is fine
                await obstore.delete_async(self._writer, key)
            await self._forget_attributes(key)

    async def copy(self, src: str, dst: str) -> None:
        self._check_key(src)
        self._check_key(dst)
        with self._guard("copy", src):
            await self._copy_attributes(src, dst)
            await obstore.copy_async(self._writer, src, dst)
