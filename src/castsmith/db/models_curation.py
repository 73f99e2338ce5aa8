"""The curation measurements: one row per checked image asset.

Kept apart from :mod:`castsmith.db.models` (which imports it, so the table is always in
the metadata); an asset's bytes never change (a new version is a new asset), so a row
holds while its ``version`` is the analysis version in force, and verdicts are worked
out from it when read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from castsmith.db.base import Base, BigId, JSONType, utcnow


class ImageCheck(Base):
    """What the curation checks measured on one image asset.

    An asset's bytes never change (a new version is a new asset), so a row holds while
    its ``version`` is the analysis version in force; verdicts are worked out from it
    when read, so a new base image or threshold needs no new analysis.
    """

    __tablename__ = "image_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    face_count: Mapped[int] = mapped_column(Integer, default=0)
    # [{"box": [left, top, right, bottom], "score": float, "descriptor": [128 floats]}]
    faces: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    sharpness: Mapped[float] = mapped_column(Float, default=0.0)
    exposure_mean: Mapped[float] = mapped_column(Float, default=0.0)
    exposure_clipped: Mapped[float] = mapped_column(Float, default=0.0)
    phash: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
