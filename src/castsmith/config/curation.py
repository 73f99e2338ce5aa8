"""Dataset curation settings (the thresholds are explained in ``castsmith.domain.curation``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from castsmith.config.aliases import alias


class CurationSettings(BaseSettings):
    """When a training image is kept, and whether triage runs by itself."""

    curation_identity_threshold: float = Field(
        default=0.6, gt=0, le=2, validation_alias=alias("curation_identity_threshold")
    )
    curation_min_sharpness: float = Field(
        default=100.0, ge=0, validation_alias=alias("curation_min_sharpness")
    )
    curation_duplicate_bits: int = Field(
        default=8, ge=0, le=32, validation_alias=alias("curation_duplicate_bits")
    )
    curation_min_side: int = Field(default=512, ge=1, validation_alias=alias("curation_min_side"))
    curation_min_images: int = Field(
        default=10, ge=1, validation_alias=alias("curation_min_images")
    )
    curation_auto_triage: bool = Field(
        default=False, validation_alias=alias("curation_auto_triage")
    )
    curation_processes: int = Field(default=0, ge=0, validation_alias=alias("curation_processes"))
