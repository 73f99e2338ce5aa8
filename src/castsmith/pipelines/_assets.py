"""What the asset writer works with, and the URLs users get for stored files.

The writer itself (:mod:`._writer`) takes :class:`NewAsset` files and a function giving
each attempt's :class:`AssetKeys`; :func:`asset_row` is the one place an ``Asset`` row
is built, whether the writer stores the file or an import records an existing object.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

from castsmith.db.models import Asset
from castsmith.domain.errors import CastsmithError
from castsmith.imaging.inspect import ImageInfo, hashes
from castsmith.imaging.renditions import Rendition
from castsmith.pipelines._services import Services

T = TypeVar("T")


@dataclass(frozen=True)
class AssetProvenance:
    """Where an asset came from, recorded on its row."""

    provider: str | None = None
    model: str | None = None
    prompt: str | None = None
    seed: int | None = None
    provider_job_id: str | None = None
    parent_asset_id: int | None = None
    owner_id: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileFacts:
    """What an asset row records about its bytes."""

    content_type: str
    size_bytes: int
    md5: str
    sha256: str
    width: int | None = None
    height: int | None = None

    @classmethod
    def of_bytes(cls, data: bytes, content_type: str) -> FileFacts:
        """Size and hashes of ``data`` (no image inspection)."""
        md5, sha256 = hashes(data)
        return cls(content_type, len(data), md5, sha256)

    @classmethod
    def of_image(cls, info: ImageInfo) -> FileFacts:
        """The facts an image inspection found."""
        return cls(
            info.content_type, info.size_bytes, info.md5, info.sha256, info.width, info.height
        )


def asset_row(
    key: str,
    facts: FileFacts,
    kind: str,
    provenance: AssetProvenance | None = None,
    *,
    hidden: bool = False,
) -> Asset:
    """The ``Asset`` row recording ``key``: the one place such a row is built."""
    prov = provenance or AssetProvenance()
    return Asset(
        storage_key=key,
        kind=kind,
        content_type=facts.content_type,
        size_bytes=facts.size_bytes,
        md5=facts.md5,
        sha256=facts.sha256,
        width=facts.width,
        height=facts.height,
        provider=prov.provider,
        model=prov.model,
        prompt=prov.prompt,
        seed=prov.seed,
        provider_job_id=prov.provider_job_id,
        parent_asset_id=prov.parent_asset_id,
        owner_id=prov.owner_id,
        meta=dict(prov.meta),
        deleted_at=datetime.now(UTC) if hidden else None,
    )


@dataclass(frozen=True)
class CopyOf:
    """A body that is a copy of an object already in the store."""

    key: str


Body = bytes | Path | AsyncIterable[bytes] | CopyOf
Renditions = Mapping[str, Rendition] | Awaitable[Mapping[str, Rendition]]


@dataclass(frozen=True)
class NewAsset:
    """One file to store and record as an asset.

    ``body`` is bytes, a local file (uploaded in parts), a stream of chunks (hashed
    while it goes up) or :class:`CopyOf` a stored object (give its ``facts``).
    ``facts`` default to what the bytes show (size and hashes; pass
    :meth:`FileFacts.of_image` for an image). ``renditions`` (named derived files, such
    as a poster's WebP sizes) may still be in the making: the writer awaits them after
    the reservation, so their conversion overlaps it.
    """

    body: Body
    kind: str
    content_type: str = "application/octet-stream"
    provenance: AssetProvenance = field(default_factory=AssetProvenance)
    facts: FileFacts | None = None
    cache_control: str | None = None
    renditions: Renditions | None = None


@dataclass(frozen=True)
class AssetKeys:
    """Where one :class:`NewAsset` goes: its key and its renditions' keys by name."""

    key: str
    renditions: Mapping[str, str] = field(default_factory=dict)

    def all(self) -> list[str]:
        """Every key of the file."""
        return [self.key, *self.renditions.values()]


KeysFor = Callable[[int], Sequence[AssetKeys]]


@dataclass(frozen=True)
class Reserved:
    """The attempt that got its keys: its number, keys and the hidden rows' ids."""

    n: int
    keys: Sequence[AssetKeys]
    ids: Sequence[int]


@dataclass(frozen=True)
class Saved(Generic[T]):
    """What :func:`write_assets` stored: the reservation, final facts and ``record``'s result."""

    n: int
    keys: Sequence[AssetKeys]
    ids: Sequence[int]
    facts: Sequence[FileFacts]
    result: T

    @property
    def key(self) -> str:
        """The (first) file's key."""
        return self.keys[0].key

    @property
    def id(self) -> int:
        """The (first) file's asset id."""
        return self.ids[0]


def numbered(key: str) -> KeysFor:
    """Keys for a single file wanted at ``key``: ``key``, then ``stem_2.ext``, ``stem_3.ext``..."""

    def keys_for(n: int) -> list[AssetKeys]:
        if n <= 1:
            return [AssetKeys(key)]
        path = PurePosixPath(key)
        return [AssetKeys(str(path.with_name(f"{path.stem}_{n}{path.suffix}")))]

    return keys_for


async def asset_url(services: Services, key: str) -> str:
    """The URL to give a user for ``key``: presigned on S3, locally signed otherwise."""
    return await services.urls.url_for(key)


async def public_pair(services: Services, key: str) -> tuple[str, str]:
    """``(accelerated, standard)`` URLs of ``key`` as the seeds' files record them.

    On AWS S3 these are the bucket's public URLs; on a custom endpoint or the local
    store (where no such URLs exist) both are the user URL of :func:`asset_url`.
    """
    urls = services.urls
    if urls.backend == "s3" and not urls.endpoint:
        standard = urls.standard_url(key)
        try:
            return urls.accelerated_url(key), standard
        except CastsmithError:
            return standard, standard
    url = await asset_url(services, key)
    return url, url
