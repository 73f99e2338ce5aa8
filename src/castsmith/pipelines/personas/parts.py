"""The pieces of a persona's images that hold no state: its PNG form, the file the
asset writer stores, and the persona it shows.

Kept apart from :mod:`.images` (the seven steps) so each module stays readable.
"""

from __future__ import annotations

from typing import Any

from castsmith.db.models import PersonaResult
from castsmith.domain import personas as rules
from castsmith.imaging.inspect import ImageInfo, inspect_image
from castsmith.imaging.renditions import to_png
from castsmith.pipelines._assets import AssetProvenance, FileFacts, NewAsset
from castsmith.providers.base import Provenance


def as_png(data: bytes, max_pixels: int) -> tuple[bytes, ImageInfo]:
    """``data`` as PNG (persona images are stored as PNG whatever the provider sent)."""
    info = inspect_image(data, max_pixels=max_pixels)
    if info.content_type != "image/png":
        data = to_png(data)
        info = inspect_image(data, max_pixels=max_pixels)
    return data, info


def persona_file(
    data: bytes,
    info: ImageInfo,
    made: Provenance,
    prompt: str,
    kind: str,
    parent_id: int | None,
    meta: dict[str, Any],
) -> NewAsset:
    """A persona image for the asset writer; its provenance names the provider that served."""
    provenance = AssetProvenance(
        provider=made.provider,
        model=made.model,
        prompt=prompt,
        seed=made.seed,
        provider_job_id=made.provider_job_id,
        parent_asset_id=parent_id,
        meta={**meta, "placeholder": made.placeholder},
    )
    return NewAsset(data, kind, info.content_type, provenance, facts=FileFacts.of_image(info))


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
