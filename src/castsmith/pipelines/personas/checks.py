"""Personas' images against their base selfie: the curation verdict of each persona.

Each persona's four split images should show the person of its base selfie. Their
measurements (stored by the ``curation.check`` job) are compared here with the selfie's
largest face; a persona with an image of someone else, or with no face, is flagged, and
can be regenerated alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.config import Settings
from castsmith.db.models import Asset, ImageCheck, PersonaResult
from castsmith.domain.curation import PLACEHOLDER_NO_FACE, closest_distance
from castsmith.imaging.curation import ANALYSIS_VERSION

IMAGE_COLUMNS = ("image_0_asset_id", "image_1_asset_id", "image_2_asset_id", "image_3_asset_id")


def persona_asset_ids(result: PersonaResult) -> list[int]:
    """The base selfie and the split images of one persona that exist."""
    ids = [result.base_image_asset_id, *(getattr(result, c) for c in IMAGE_COLUMNS)]
    return [i for i in ids if i is not None]


def _placeholder(asset: Asset | None) -> bool:
    return asset is not None and (
        asset.provider == "offline" or bool((asset.meta or {}).get("placeholder"))
    )


def persona_checks(
    session: Session, results: Sequence[PersonaResult], settings: Settings
) -> dict[int, dict[str, Any]]:
    """``{result_id: {"flagged", "verdict", "reasons", "distances"}}`` for the personas."""
    ids = [i for r in results for i in persona_asset_ids(r)]
    rows = (
        session.execute(
            select(Asset, ImageCheck)
            .outerjoin(ImageCheck, ImageCheck.asset_id == Asset.id)
            .where(Asset.id.in_(ids))
        ).all()
        if ids
        else []
    )
    assets = {asset.id: asset for asset, _ in rows}
    checks = {
        asset.id: check
        for asset, check in rows
        if check is not None and check.version == ANALYSIS_VERSION and check.sha256 == asset.sha256
    }
    return {r.id: _judge(r, assets, checks, settings.curation_identity_threshold) for r in results}


def _faces(check: ImageCheck) -> list[list[float]]:
    return [f["descriptor"] for f in check.faces or [] if f.get("descriptor")]


def _judge(
    result: PersonaResult,
    assets: dict[int, Asset],
    checks: dict[int, ImageCheck],
    threshold: float,
) -> dict[str, Any]:
    images = [getattr(result, c) for c in IMAGE_COLUMNS]
    outcome: dict[str, Any] = {
        "flagged": False,
        "verdict": "pending",
        "reasons": [],
        "distances": [],
    }
    base_id = result.base_image_asset_id
    if base_id is None or not any(images):
        return outcome
    if _placeholder(assets.get(base_id)):
        return {**outcome, "verdict": "ok", "reasons": [PLACEHOLDER_NO_FACE]}
    wanted = [base_id, *(i for i in images if i is not None)]
    if any(i not in checks for i in wanted):
        return outcome
    base_faces = _faces(checks[base_id])
    if not base_faces:
        return {**outcome, "verdict": "warn", "reasons": ["the base selfie shows no face"]}
    reasons: list[str] = []
    distances: list[float | None] = []
    for index, asset_id in enumerate(images):
        if asset_id is None:
            distances.append(None)
            continue
        distance = closest_distance(_faces(checks[asset_id]), base_faces[0])
        distances.append(round(distance, 3) if distance is not None else None)
        if distance is None:
            reasons.append(f"image_{index}: no face found")
        elif distance > threshold:
            reasons.append(
                f"image_{index}: another person: distance {distance:.2f}, threshold {threshold:.2f}"
            )
    flagged = bool(reasons)
    return {
        "flagged": flagged,
        "verdict": "reject-suggested" if flagged else "ok",
        "reasons": reasons,
        "distances": distances,
    }
