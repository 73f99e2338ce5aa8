"""Whether an actor's dataset may be trained on, asked before anything is written.

The dataset curation feature owns the full readiness report; until it answers here,
this checks what every trainer needs: enough non-rejected images for the chosen
trainer. :func:`check_ready` is the one place a training asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from castsmith.db.repositories.training import TrainingRepository
from castsmith.domain.errors import ValidationError
from castsmith.pipelines._services import Services
from castsmith.providers.trainers.base import Trainer


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
