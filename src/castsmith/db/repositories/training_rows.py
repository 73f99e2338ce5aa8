"""An actor's training images read as plain rows: one column select, no ORM objects.

A manifest and the curation checks read the same 200-odd rows on every request. Loading
them as ``TrainingDataItem``/``Asset``/``ImageCheck`` objects (identity map, instance
state, change tracking) cost more than everything else such a request does, and nothing
here is ever written back; so the columns they read come back as small frozen rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, ImageCheck, TrainingDataItem


@dataclass(frozen=True, slots=True)
class ItemRow:
    """The columns of a ``TrainingDataItem`` that manifests and checks read."""

    id: int
    n: int
    filename: str
    status: str
    changed: datetime
    """When the item last changed: ``updated_at``, or ``created_at`` without one."""


@dataclass(frozen=True, slots=True)
class AssetRow:
    """The columns of an ``Asset`` that manifests and checks read."""

    id: int
    storage_key: str
    size_bytes: int
    md5: str
    sha256: str
    provider: str | None
    meta: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class CheckRow:
    """An ``ImageCheck``'s measurements (the columns the verdicts are worked out from)."""

    sha256: str
    version: int
    face_count: int
    faces: list[dict[str, Any]] | None
    width: int
    height: int
    sharpness: float
    exposure_mean: float
    exposure_clipped: float
    phash: str | None
    error: str | None


class DatasetRow(NamedTuple):
    """One training image: its item, its asset and its stored check (if any)."""

    item: ItemRow
    asset: AssetRow
    check: CheckRow | None


_ITEM = (
    TrainingDataItem.id,
    TrainingDataItem.n,
    TrainingDataItem.filename,
    TrainingDataItem.status,
    # One timestamp parsed per row instead of two (on SQLite each is a string to parse).
    func.coalesce(TrainingDataItem.updated_at, TrainingDataItem.created_at),
)
_ASSET = (
    Asset.id,
    Asset.storage_key,
    Asset.size_bytes,
    Asset.md5,
    Asset.sha256,
    Asset.provider,
    Asset.meta,
)
_CHECK = (
    ImageCheck.id,  # null when the image has no stored check (outer join)
    ImageCheck.sha256,
    ImageCheck.version,
    ImageCheck.face_count,
    ImageCheck.faces,
    ImageCheck.width,
    ImageCheck.height,
    ImageCheck.sharpness,
    ImageCheck.exposure_mean,
    ImageCheck.exposure_clipped,
    ImageCheck.phash,
    ImageCheck.error,
)
_ITEM_END = len(_ITEM)
_ASSET_END = _ITEM_END + len(_ASSET)


def _check(measured: Any) -> CheckRow | None:
    check_id, *columns = measured
    return CheckRow(*columns) if check_id is not None else None


def dataset_rows(session: Session, actor_id: int, *, pending: bool = False) -> list[DatasetRow]:
    """The actor's training images in number order, ``pending`` reservations only if asked.

    One query: items joined to their assets and (outer) to their checks. Sync.
    """
    query = (
        select(*_ITEM, *_ASSET, *_CHECK)
        .join(Asset, Asset.id == TrainingDataItem.asset_id)
        .outerjoin(ImageCheck, ImageCheck.asset_id == Asset.id)
        .where(TrainingDataItem.actor_id == actor_id)
        .order_by(TrainingDataItem.n)
    )
    if not pending:
        query = query.where(TrainingDataItem.status != "pending")
    item, asset = slice(0, _ITEM_END), slice(_ITEM_END, _ASSET_END)
    return [
        DatasetRow(ItemRow(*row[item]), AssetRow(*row[asset]), _check(row[_ASSET_END:]))
        # On the connection, not the session: plain Core rows, without the ORM's
        # per-row loading machinery (nothing here becomes an ORM object).
        for row in session.connection().execute(query)
    ]


def asset_check(session: Session, asset_id: int) -> tuple[AssetRow, CheckRow | None] | None:
    """One asset and its stored check (``None`` when the asset row is gone). Sync."""
    query = (
        select(*_ASSET, *_CHECK)
        .outerjoin(ImageCheck, ImageCheck.asset_id == Asset.id)
        .where(Asset.id == asset_id)
    )
    row = session.connection().execute(query).first()
    if row is None:
        return None
    return AssetRow(*row[: len(_ASSET)]), _check(row[len(_ASSET) :])
