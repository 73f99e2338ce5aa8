"""The pieces of a persona's images that hold no state: the image in hand, its PNG
form, its asset row, the persona it shows, and running a call beside another.

Kept apart from :mod:`.images` (the seven steps) so each module stays readable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from castsmith.db.models import Asset, PersonaResult
from castsmith.domain import personas as rules
from castsmith.imaging.inspect import ImageInfo, inspect_image
from castsmith.imaging.renditions import to_png
from castsmith.providers.base import Provenance

T = TypeVar("T")
U = TypeVar("U")


@dataclass
class PersonaImage:
    """An image made for a persona, uploaded under ``key``, before it is recorded."""

    key: str
    data: bytes
    info: ImageInfo
    provenance: Provenance
    prompt: str


def as_png(data: bytes, max_pixels: int) -> tuple[bytes, ImageInfo]:
    """``data`` as PNG (persona images are stored as PNG whatever the provider sent)."""
    info = inspect_image(data, max_pixels=max_pixels)
    if info.content_type != "image/png":
        data = to_png(data)
        info = inspect_image(data, max_pixels=max_pixels)
    return data, info


def asset_row(image: PersonaImage, kind: str, parent_id: int | None, meta: dict[str, Any]) -> Asset:
    """The asset row of ``image``; its provenance names the provider that served."""
    return Asset(
        storage_key=image.key,
        kind=kind,
        content_type=image.info.content_type,
        size_bytes=len(image.data),
        md5=image.info.md5,
        sha256=image.info.sha256,
        width=image.info.width,
        height=image.info.height,
        provider=image.provenance.provider,
        model=image.provenance.model,
        prompt=image.prompt,
        seed=image.provenance.seed,
        provider_job_id=image.provenance.provider_job_id,
        parent_asset_id=parent_id,
        meta={**meta, "placeholder": image.provenance.placeholder},
    )


async def alongside(main: Awaitable[T], side: Awaitable[U]) -> tuple[T, U]:
    """``main`` and ``side`` at once; ``main``'s error is the one raised, unwrapped."""
    extra = asyncio.ensure_future(side)
    try:
        first = await main
    except BaseException:
        extra.cancel()
        await asyncio.gather(extra, return_exceptions=True)
        raise
    return first, await extra


def persona_of(result: PersonaResult) -> rules.PersonaData:
    """The persona a result row describes (blank fields where the row has none)."""
    return rules.PersonaData(
        firstname=result.firstname,
        lastname=result.lastname,
        age=result.age or rules.MIN_AGE,
        gender=result.gender or "",
        location=result.location or "",
        occupation=result.occupation or "",
        bio=result.bio or "",
    )
