"""Whether an actor's dataset may be trained on, asked before anything is written.

Two questions, in this order:

1. the trainer's own minimum (fal needs 4 images): a hard limit, a 422 naming
   ``dataset`` that ``force`` does not pass, since the trainer would refuse anyway;
2. the curation readiness report (:mod:`castsmith.pipelines.training.curation`): a
   stranger's face, a blurred frame, a near-copy or too few usable images make it a
   409 (``DatasetNotReady``, the report in the error body) unless the user forces it.

Checks still running: placeholder art counts as usable whether checked or not (see
:func:`castsmith.domain.curation.readiness`), so the offline flows never wait. For
real photographs the gate makes sure a check job is queued and waits up to
:data:`CHECKS_WAIT_SECONDS` for it (less when no worker picks the job up); images still
unchecked after that keep the dataset not ready ("still being checked"), and ``force``
trains without waiting.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from castsmith.db.repositories.training import TrainingRepository
from castsmith.domain.curation import ReadinessReport
from castsmith.domain.errors import ValidationError
from castsmith.domain.jobs import QUEUED, TERMINAL_STATUSES
from castsmith.pipelines._checks import request_checks
from castsmith.pipelines._services import Services
from castsmith.pipelines.training.curation import readiness_report, require_ready
from castsmith.providers.trainers.base import Trainer

#: How long a training request waits for the checks of freshly stored photographs.
CHECKS_WAIT_SECONDS = 30.0
#: How long a queued check job may wait for a worker before the request stops waiting.
UNCLAIMED_SECONDS = 3.0
_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Readiness:
    """How many usable images there are and whether the trainer can start."""

    images: int
    needed: int

    @property
    def ready(self) -> bool:
        """True when there are enough images."""
        return self.images >= self.needed


def readiness(services: Services, actor_id: int, trainer: Trainer) -> Readiness:
    """Count the actor's non-rejected images against the trainer's minimum. Sync."""
    with services.sessions() as session:
        stats = TrainingRepository(session).stats(actor_id)
    return Readiness(stats.synced, trainer.min_images)


def check_ready(services: Services, actor_id: int, trainer: Trainer) -> Readiness:
    """:func:`readiness`, refusing (naming ``dataset``) when there are too few images."""
    found = readiness(services, actor_id, trainer)
    if not found.ready:
        raise ValidationError(
            f"the dataset has {found.images} usable images; the {trainer.name} trainer needs "
            f"at least {found.needed}: generate more training images first",
            "dataset",
        )
    return found


async def settled_report(
    services: Services, actor_id: int, wait: float = CHECKS_WAIT_SECONDS
) -> ReadinessReport:
    """The readiness report once no photograph is waiting for its check, or after ``wait``.

    Asks for a check job first (one per actor is queued at most), so an image stored
    while no job was queued is not waited for in vain. A check job that no worker picks
    up within :data:`UNCLAIMED_SECONDS` ends the wait early: there may be no worker
    running (a command line without one, a stopped deployment).
    """
    report = await readiness_report(services, actor_id)
    if not report.pending or wait <= 0:
        return report
    job = await request_checks(services, actor_id=actor_id)
    started = asked = time.monotonic()
    while report.pending and time.monotonic() - started < wait:
        await asyncio.sleep(_POLL_SECONDS)
        report = await readiness_report(services, actor_id)
        if job is None or not report.pending:
            continue
        current = await asyncio.to_thread(services.queue.get, job.id)
        if current.status == QUEUED and time.monotonic() - asked > UNCLAIMED_SECONDS:
            break
        if current.status in TERMINAL_STATUSES:
            # It ended before an image stored meanwhile was measured: ask again.
            job = await request_checks(services, actor_id=actor_id)
            asked = time.monotonic()
    return report


async def gate(
    services: Services, actor_id: int, trainer: Trainer, *, force: bool = False
) -> ReadinessReport:
    """Both checks of a training request; the report it passed with.

    Raises ``ValidationError`` (too few images for the trainer, even with ``force``) or
    ``DatasetNotReady`` (the report says not ready, and no ``force``).
    """
    await asyncio.to_thread(check_ready, services, actor_id, trainer)
    if not force:
        await settled_report(services, actor_id)
    return await require_ready(services, actor_id, force=force)


def panel_readiness(report: ReadinessReport, trainer_minimum: Readiness) -> dict[str, Any]:
    """What the "Train LoRA" panel says about the dataset: the report's figures and
    reasons, and whether the trainer's own minimum is met."""
    data = report.as_dict()
    return {
        "ready": report.ready and trainer_minimum.ready,
        "curation_ready": report.ready,
        "usable": report.usable,
        "images": report.images,
        "pending": report.pending,
        "needed": max(report.min_images, trainer_minimum.needed),
        "trainer_needed": trainer_minimum.needed,
        "trainer_ok": trainer_minimum.ready,
        "reasons": data["reasons"],
        "report": data,
    }
