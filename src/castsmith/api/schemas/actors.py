"""HTTP models of the actors API.

Request models only check types; the product's own rules (name alphabet, ranges) live
in :mod:`castsmith.domain.actors` so the CLI and imports apply the same ones, and their
errors come back as 422 with ``field`` naming the input at fault.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from castsmith.api.schemas.common import NAME_MAX, TEXT_MAX, URL_MAX, RowIdField, UtcDateTime


class LoraIn(BaseModel):
    """A LoRA reference as given by a user."""

    model_config = ConfigDict(extra="forbid")

    model_url: str | None = Field(None, max_length=URL_MAX)
    name: str | None = Field(None, max_length=300)
    trigger_word: str | None = Field(None, max_length=NAME_MAX)
    strength_model: float = 0.8
    strength_clip: float = 0.8


class LoraOut(BaseModel):
    """The actor's LoRA (null on the actor when it has none)."""

    model_url: str | None
    name: str | None
    trigger_word: str | None
    strength_model: float
    strength_clip: float


class ActorCreate(BaseModel):
    """``POST /api/actors``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=NAME_MAX, examples=["0001_european_20_female"])
    description: str = Field("", max_length=TEXT_MAX)
    actor_type: str | None = Field(None, max_length=NAME_MAX)
    sex: str | None = Field(None, max_length=NAME_MAX)
    age: int | None = None
    ethnicity: str | None = Field(None, max_length=NAME_MAX)
    style: str | None = Field(None, max_length=NAME_MAX)
    lora: LoraIn | None = None
    owner_id: RowIdField | None = None

    def fields(self) -> dict[str, Any]:
        """The fields the client actually sent."""
        return self.model_dump(exclude_unset=True)


class ActorPatch(BaseModel):
    """``PATCH /api/actors/{id}``: only the fields sent are changed (``lora: null`` clears)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=NAME_MAX)
    description: str | None = Field(None, max_length=TEXT_MAX)
    actor_type: str | None = Field(None, max_length=NAME_MAX)
    sex: str | None = Field(None, max_length=NAME_MAX)
    age: int | None = None
    ethnicity: str | None = Field(None, max_length=NAME_MAX)
    style: str | None = Field(None, max_length=NAME_MAX)
    lora: LoraIn | None = None
    owner_id: RowIdField | None = None
    # Strict: true is not 1.0 here, and a string is not a number.
    curation_identity_threshold: StrictFloat | None = Field(
        None,
        description="The actor's own identity threshold for the curation checks "
        "(above 0, at most 2; null goes back to the setting).",
    )

    def fields(self) -> dict[str, Any]:
        """The fields the client actually sent."""
        return self.model_dump(exclude_unset=True)


class PosterSizes(BaseModel):
    """URLs of the three WebP sizes."""

    webp_sm: str | None = None
    webp_md: str | None = None
    webp_lg: str | None = None


class PosterFrames(BaseModel):
    """The seeds' ``poster_frames`` shape."""

    accelerated: PosterSizes
    standard: PosterSizes


class ActorOut(BaseModel):
    """An actor as the API returns it."""

    id: int
    name: str
    description: str
    actor_type: str
    sex: str | None
    age: int | None
    ethnicity: str | None
    style: str | None
    lora: LoraOut | None
    owner_id: int | None
    curation_identity_threshold: float | None = None
    base_image_url: str | None
    poster_frames: PosterFrames | None
    deleted: bool
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ActorList(BaseModel):
    """A page of actors; pass ``next_cursor`` back as ``?cursor=`` for the next one."""

    items: list[ActorOut]
    next_cursor: str | None
    total: int


class FromUrl(BaseModel):
    """``POST /api/actors/{id}/base-image/from-url``."""

    url: str = Field(max_length=URL_MAX)


class GenerateBaseImage(BaseModel):
    """``POST /api/actors/{id}/base-image/generate`` (all optional)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(None, max_length=TEXT_MAX)
    seed: StrictInt | None = None


class JobAccepted(BaseModel):
    """A job was queued; follow it at ``/api/jobs/{id}``."""

    job_id: int
    kind: str
    status: str
    actor_id: int


class ManifestItem(BaseModel):
    """One training image of a manifest."""

    model_config = ConfigDict(extra="allow")

    filename: str
    s3_url: str
    md5_hash: str
    size_bytes: int
    size_mb: float
    modified_timestamp: float
    modified_date: str
    status: str


class ManifestStatistics(BaseModel):
    """Counts over ``training_data``."""

    model_config = ConfigDict(extra="allow")

    training_images_count: int
    training_synced_count: int


class Manifest(BaseModel):
    """An actor's manifest, as the per-actor ``*_manifest.json`` files hold it."""

    model_config = ConfigDict(extra="allow")

    character_id: str
    training_data: list[ManifestItem]
    statistics: ManifestStatistics
    training_data_updated: str | None
    lora_model_url: str | None = None
    lora_name: str | None = None
    lora_trigger_word: str | None = None
    lora_strength_model: float | None = None
    lora_strength_clip: float | None = None
    poster_frame_url: str | None = Field(None, description="The current poster image's URL.")
