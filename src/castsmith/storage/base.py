"""The object store interface every backend implements.

Keys are ``/``-separated and checked with :func:`castsmith.domain.keys.validate_key`
before any I/O, so no caller can reach outside the store. Every failure surfaces as one
of castsmith's errors: ``NotFound`` for a missing key, ``StorageUnavailable`` when the
store cannot be reached (retryable), ``StorageError`` for anything else.
"""

from __future__ import annotations

import asyncio
import builtins
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from castsmith.domain.errors import CastsmithError, NotFound

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """What a store knows about one object.

    ``content_type`` and ``cache_control`` are filled by :meth:`ObjectStore.head`;
    listings leave them ``None`` because neither backend returns them cheaply.
    """

    key: str
    size: int
    last_modified: datetime
    etag: str | None
    content_type: str | None = None
    cache_control: str | None = None


@dataclass(frozen=True, slots=True)
class StoredObject:
    """The result of a write."""

    key: str
    size: int
    etag: str | None
    content_type: str


@dataclass(frozen=True, slots=True)
class PutItem:
    """One object for :meth:`ObjectStore.put_many`."""

    key: str
    data: bytes
    content_type: str
    cache_control: str | None = None


class ObjectStore(ABC):
    """An async object store: a local folder or an S3-compatible bucket."""

    backend: str
    """``"local"`` or ``"s3"``."""

    @abstractmethod
    async def put(
        self, key: str, data: bytes, *, content_type: str, cache_control: str | None = None
    ) -> StoredObject:
        """Write ``data`` under ``key`` atomically (readers see all of it or nothing)."""

    @abstractmethod
    async def put_file(
        self, key: str, path: Path, *, content_type: str, cache_control: str | None = None
    ) -> StoredObject:
        """Upload a local file; large files go up in parts."""

    @abstractmethod
    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        cache_control: str | None = None,
    ) -> StoredObject:
        """Upload a stream of chunks in parts; the object appears only when complete."""

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """The whole object; ``NotFound`` when it does not exist."""

    @abstractmethod
    def get_stream(self, key: str, *, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """The object in chunks; ``NotFound`` is raised on the first iteration."""

    @abstractmethod
    async def head(self, key: str) -> ObjectMeta | None:
        """Size, date, etag, content type and cache control, or ``None`` if missing."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> AsyncIterator[ObjectMeta]:
        """Every object under the folder ``prefix`` (whole path segments), any order."""

    @abstractmethod
    async def copy(self, src: str, dst: str) -> None:
        """Copy ``src`` to ``dst`` with its content type; ``NotFound`` if ``src`` is missing."""

    async def exists(self, key: str) -> bool:
        """True when ``key`` holds an object."""
        return await self.head(key) is not None

    async def put_many(
        self, items: Iterable[PutItem], concurrency: int = 8
    ) -> builtins.list[StoredObject]:
        """Write many objects with at most ``concurrency`` writes in flight.

        Results come back in the order of ``items``. When a write fails the others
        are cancelled and the first castsmith error is raised.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        gate = asyncio.Semaphore(concurrency)

        async def one(item: PutItem) -> StoredObject:
            async with gate:
                return await self.put(
                    item.key,
                    item.data,
                    content_type=item.content_type,
                    cache_control=item.cache_control,
                )

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(item)) for item in items]
        except ExceptionGroup as group_error:
            first = _first_castsmith_error(group_error)
            if first is not None:
                raise first from None
            raise
        return [task.result() for task in tasks]

    async def get_meta(self, key: str) -> ObjectMeta:
        """Like :meth:`head`, but ``NotFound`` instead of ``None``."""
        meta = await self.head(key)
        if meta is None:
            raise NotFound(f"object {key!r} not found in the {self.backend} store")
        return meta

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release connections; the default has nothing to release."""


def _first_castsmith_error(group: BaseExceptionGroup[BaseException]) -> CastsmithError | None:
    for error in group.exceptions:
        if isinstance(error, CastsmithError):
            return error
        if isinstance(error, BaseExceptionGroup):
            nested = _first_castsmith_error(error)
            if nested is not None:
                return nested
    return None
