"""LoRA versions of actors: numbering, reading, updating, and which one is current.

Making a version current also points the actor's LoRA fields (model URL, name, trigger
word, strengths) at it, in the same transaction, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from castsmith.db.models import Actor
from castsmith.db.models_lora import LoraTraining
from castsmith.domain import access
from castsmith.domain.access import Principal
from castsmith.domain.errors import NotFound

UPDATABLE = frozenset(
    {
        "status",
        "dataset",
        "dataset_key",
        "dataset_md5",
        "dataset_size",
        "remote_id",
        "remote",
        "progress",
        "logs",
        "error",
        "usage",
        "weights_key",
        "weights_size",
        "weights_sha256",
        "strength",
        "test_grid",
        "grid_job_id",
        "poster_job_id",
        "job_id",
        "submitted_at",
        "finished_at",
    }
)


class LoraRepository:
    """Queries and writes on ``lora_trainings`` inside one session."""

    def __init__(self, session: Session, caller: Principal) -> None:
        self.session = session
        # Whom every read and write here is done for: owned rows are narrowed to it.
        self.caller = caller

    def lock_actor(self, actor_id: int) -> Actor:
        """Lock the actor row so version numbers of one actor are handed out in turn."""
        actor = self.session.scalars(
            select(Actor).where(Actor.id == actor_id, Actor.deleted_at.is_(None)).with_for_update()
        ).first()
        if actor is None:
            raise NotFound(f"actor {actor_id} not found")
        return actor

    def next_version(self, actor_id: int) -> int:
        """One above the actor's highest version (1 for the first)."""
        top = self.session.scalar(
            select(func.max(LoraTraining.version)).where(LoraTraining.actor_id == actor_id)
        )
        return int(top or 0) + 1

    def create(self, actor_id: int, **values: Any) -> LoraTraining:
        """Insert the actor's next version with ``values``; call with the actor locked."""
        self.lock_actor(actor_id)
        row = LoraTraining(actor_id=actor_id, version=self.next_version(actor_id), **values)
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, training_id: int) -> LoraTraining:
        """The training ``training_id``; ``NotFound`` when there is none."""
        row = self.session.get(LoraTraining, training_id)
        # A version belongs to its actor's owner; anyone else gets the unknown-id answer.
        owner = (
            self.session.scalar(select(Actor.owner_id).where(Actor.id == row.actor_id))
            if row
            else None
        )
        if row is None or not access.may_access(self.caller, owner):
            raise NotFound(f"LoRA training {training_id} not found")
        return row

    def for_actor(self, actor_id: int) -> Sequence[LoraTraining]:
        """Every version of the actor, newest first."""
        return self.session.scalars(
            select(LoraTraining)
            .where(LoraTraining.actor_id == actor_id)
            .order_by(LoraTraining.version.desc())
        ).all()

    def by_job(self, job_id: int) -> LoraTraining | None:
        """The training a training job works on."""
        return self.session.scalars(
            select(LoraTraining).where(LoraTraining.job_id == job_id)
        ).first()

    def set(self, training_id: int, **values: Any) -> None:
        """Update some fields of a training (only those in :data:`UPDATABLE`)."""
        unknown = set(values) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        self.session.execute(
            update(LoraTraining).where(LoraTraining.id == training_id).values(**values)
        )

    def make_current(self, training: LoraTraining, url: str) -> Actor:
        """Make ``training`` the actor's LoRA; ``url`` is where the weights can be fetched."""
        actor = self.lock_actor(training.actor_id)
        self.session.execute(
            update(LoraTraining)
            .where(LoraTraining.actor_id == training.actor_id, LoraTraining.is_current)
            .values(is_current=False)
        )
        self.session.flush()
        training.is_current = True
        actor.lora_model_url = url
        actor.lora_name = (training.weights_key or "").rsplit("/", 1)[-1] or None
        actor.lora_trigger_word = training.trigger_word
        actor.lora_strength_model = training.strength
        actor.lora_strength_clip = training.strength
        self.session.flush()
        return actor
