"""An actor's dataset as the curation rules see it: each image's checks, the readiness
report, the gate LoRA trainings pass, and auto-triage.

Verdicts are worked out here from the stored measurements (``checks.py``), the actor's
reference identity (the largest face of its base image) and the thresholds in force, so
they follow a new base image or threshold at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from castsmith.config import Settings
from castsmith.db.models import Actor, Asset, TrainingDataItem
from castsmith.db.repositories.actors import ActorRepository
from castsmith.db.repositories.training import REJECTED, SYNCED
from castsmith.db.repositories.training_rows import (
    AssetRow,
    CheckRow,
    DatasetRow,
    ItemRow,
    asset_check,
    dataset_rows,
)
from castsmith.domain.curation import (
    ItemVerdict,
    Measurements,
    ReadinessReport,
    Thresholds,
    Verdict,
    closest_distance,
    duplicates,
    judge,
    readiness,
)
from castsmith.domain.errors import Conflict, NotFound, ValidationError
from castsmith.imaging.curation import ANALYSIS_VERSION
from castsmith.pipelines._services import Services
from castsmith.pipelines.training.checks import is_placeholder

#: The actor setting (in ``actors.extra``) that overrides the identity threshold.
ACTOR_THRESHOLD = "curation_identity_threshold"


class DatasetNotReady(Conflict):
    """A training was asked for on a dataset that is not ready; ``report`` says why."""

    def __init__(self, actor_name: str, report: ReadinessReport) -> None:
        reasons = "; ".join(report.reasons) or "see the report"
        super().__init__(
            f"the dataset of actor {actor_name!r} is not ready for training: {reasons} "
            "(pass force to train anyway)"
        )
        self.report = report
        self.field = "dataset"
        # Carried into the API's error body, so a client can show the whole report.
        self.details: dict[str, object] = {"report": report.as_dict()}


def thresholds(settings: Settings, actor_extra: dict[str, Any] | None = None) -> Thresholds:
    """The thresholds in force for an actor: the settings, with its own override."""
    override = (actor_extra or {}).get(ACTOR_THRESHOLD)
    base = Thresholds(
        identity=settings.curation_identity_threshold,
        min_sharpness=settings.curation_min_sharpness,
        duplicate_bits=settings.curation_duplicate_bits,
        min_side=settings.curation_min_side,
        min_images=settings.curation_min_images,
    )
    try:
        own = validate_threshold(override)
    except ValidationError:
        own = None  # an out-of-range value that arrived by an import is not applied
    return base.for_actor(own)


def validate_threshold(value: Any) -> float | None:
    """An actor's identity threshold from user input (``None`` clears it)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 2:
        raise ValidationError(
            f"{ACTOR_THRESHOLD} must be a number above 0 and at most 2", ACTOR_THRESHOLD
        )
    return float(value)


@dataclass(frozen=True)
class ItemChecks:
    """One training image's checks: the API's ``checks`` object and the verdict."""

    item_id: int
    status: str
    checks: dict[str, Any]
    verdict: ItemVerdict


def _current(check: CheckRow | None, asset: AssetRow) -> CheckRow | None:
    if check is None or check.version != ANALYSIS_VERSION or check.sha256 != asset.sha256:
        return None
    return check


def _descriptors(check: CheckRow) -> list[list[float]]:
    return [face["descriptor"] for face in check.faces or [] if face.get("descriptor")]


def _pending(item: ItemRow, placeholder: bool = False) -> ItemChecks:
    checks: dict[str, Any] = {
        "faces": None,
        "face_boxes": [],
        "identity_distance": None,
        "sharpness": None,
        "exposure": None,
        "resolution": None,
        "phash": None,
        "duplicate_of": None,
        "placeholder": placeholder or None,
        "verdict": Verdict.PENDING.value,
        "reasons": [],
    }
    # The readiness report counts placeholder art as usable even before its check.
    verdict = ItemVerdict(item.filename, Verdict.PENDING, (), placeholder=placeholder)
    return ItemChecks(item.id, item.status, checks, verdict)


def dataset_checks(session: Session, actor: Actor, limits: Thresholds) -> list[ItemChecks]:
    """Every stored training image of ``actor`` (read through the caller's
    :class:`ActorRepository`) with its checks, in number order. Sync."""
    return judge_rows(session, actor, dataset_rows(session, actor.id), limits)


def judge_rows(
    session: Session, actor: Actor, rows: list[DatasetRow], limits: Thresholds
) -> list[ItemChecks]:
    """The checks of ``rows`` (the actor's stored images, no ``pending`` ones). Sync.

    For callers that read the rows themselves (a manifest reads them once for all it
    shows); :func:`dataset_checks` reads them and calls this.
    """
    reference: list[float] | None = None
    reference_pending = False
    if actor.base_image_asset_id is not None:
        base = asset_check(session, actor.base_image_asset_id)
        current = _current(base[1], base[0]) if base is not None else None
        reference_pending = base is not None and current is None
        faces = _descriptors(current) if current is not None else []
        reference = faces[0] if faces else None
    # Near-copies are looked for among the images still in the dataset; placeholder art
    # repeats itself by design and is left out.
    kept = [
        (item.filename, check.phash)
        for item, asset, check in rows
        if item.status == SYNCED
        and check is not None
        and _current(check, asset)
        and not is_placeholder(asset)
    ]
    copies = duplicates(kept, limits.duplicate_bits)
    out: list[ItemChecks] = []
    for item, asset, check in rows:
        current = _current(check, asset)
        if current is None or (reference_pending and not is_placeholder(asset)):
            out.append(_pending(item, is_placeholder(asset)))
            continue
        out.append(_judged(item, asset, current, reference, limits, copies.get(item.filename)))
    return out


def _judged(
    item: ItemRow,
    asset: AssetRow,
    check: CheckRow,
    reference: list[float] | None,
    limits: Thresholds,
    duplicate_of: str | None,
) -> ItemChecks:
    placeholder = is_placeholder(asset)
    if check.error:
        verdict = ItemVerdict(item.filename, Verdict.REJECT, (check.error,))
        return ItemChecks(
            item.id,
            item.status,
            {
                **_pending(item).checks,
                **{"verdict": Verdict.REJECT.value, "reasons": [check.error]},
            },
            verdict,
        )
    distance = None if placeholder else closest_distance(_descriptors(check), reference)
    facts = Measurements(
        faces=check.face_count,
        width=check.width,
        height=check.height,
        sharpness=check.sharpness,
        exposure_mean=check.exposure_mean,
        exposure_clipped=check.exposure_clipped,
        placeholder=placeholder,
    )
    judgement = judge(
        facts,
        limits,
        identity_distance=distance,
        has_reference=reference is not None,
        duplicate_of=duplicate_of,
    )
    rounded = round(distance, 3) if distance is not None else None
    checks = {
        "faces": check.face_count,
        "face_boxes": [face["box"] for face in check.faces or []],
        "identity_distance": rounded,
        "sharpness": round(check.sharpness, 1),
        "exposure": {"mean": check.exposure_mean, "clipped": check.exposure_clipped},
        "resolution": [check.width, check.height],
        "phash": check.phash,
        "duplicate_of": duplicate_of,
        "placeholder": placeholder,
        "verdict": judgement.verdict.value,
        "reasons": list(judgement.reasons),
    }
    triaged = (asset.meta or {}).get("triage")
    if item.status == REJECTED and triaged:
        checks["triaged"] = triaged
    verdict = ItemVerdict(
        item.filename,
        judgement.verdict,
        judgement.reasons,
        identity_distance=distance,
        placeholder=placeholder,
        duplicate_of=duplicate_of,
        blurred=not placeholder and check.sharpness < limits.min_sharpness,
    )
    return ItemChecks(item.id, item.status, checks, verdict)


def _load(services: Services, actor_id: int) -> tuple[str, Thresholds, list[ItemChecks]]:
    with services.sessions() as session:
        actor = ActorRepository(session, services.caller).get(actor_id)
        limits = thresholds(services.settings, actor.extra)
        return actor.name, limits, dataset_checks(session, actor, limits)


async def item_checks(services: Services, actor_id: int) -> dict[int, dict[str, Any]]:
    """The ``checks`` object of each training image of the actor, by item id."""
    _, _, items = await asyncio.to_thread(_load, services, actor_id)
    return {item.item_id: item.checks for item in items}


async def readiness_report(services: Services, actor_id: int) -> ReadinessReport:
    """The readiness report of the actor's dataset (its images not rejected)."""
    _, limits, items = await asyncio.to_thread(_load, services, actor_id)
    return readiness([i.verdict for i in items if i.status == SYNCED], limits)


async def require_ready(
    services: Services, actor_id: int, *, force: bool = False
) -> ReadinessReport:
    """The gate of a LoRA training: the report, or ``DatasetNotReady`` unless ``force``."""
    name, limits, items = await asyncio.to_thread(_load, services, actor_id)
    report = readiness([i.verdict for i in items if i.status == SYNCED], limits)
    if not report.ready and not force:
        raise DatasetNotReady(name, report)
    return report


def _triage(services: Services, actor_id: int) -> list[int]:
    with services.sessions.begin() as session:
        try:
            actor = ActorRepository(session, services.caller).get(actor_id)
        except NotFound:
            return []
        limits = thresholds(services.settings, actor.extra)
        rejected: list[int] = []
        for entry in dataset_checks(session, actor, limits):
            if entry.status != SYNCED or entry.verdict.verdict is not Verdict.REJECT:
                continue
            item = session.get(TrainingDataItem, entry.item_id)
            asset = session.get(Asset, item.asset_id) if item else None
            if item is None or asset is None:
                continue
            item.status = REJECTED
            # Kept on the asset so the listing can say why the image was taken out.
            asset.meta = {**(asset.meta or {}), "triage": list(entry.verdict.reasons)}
            rejected.append(item.id)
        return rejected


async def triage(services: Services, actor_id: int) -> list[int]:
    """Reject (recoverably) every image whose verdict is ``reject-suggested``; their ids."""
    return await asyncio.to_thread(_triage, services, actor_id)
