"""LoRA trainings: from an actor's dataset to a trained, versioned LoRA the posters use.

Use cases for the API, CLI and web page: :func:`start_training`, :func:`versions`,
:func:`training`, :func:`cancel`, :func:`make_current`, :func:`weights_link`,
:func:`test_grid`, :func:`pick_strength` and :func:`import_lora` (in
:mod:`castsmith.pipelines.lora.importing`). Every request is checked before anything
is written: an unknown or unconfigured trainer, a missing trigger word, bad
parameters or too few images are refused naming the field, and a dataset the curation
report calls not ready is refused (409 with the report) unless the request forces it
(see :mod:`castsmith.pipelines.lora.readiness`).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from castsmith.db.repositories.lora import LoraRepository
from castsmith.domain.errors import Conflict, ValidationError
from castsmith.domain.lora import (
    CANCELED,
    SOURCE_TRAINED,
    SUCCEEDED,
    TERMINAL,
    TrainingParams,
    check_strength,
    check_trigger_word,
)
from castsmith.jobs.types import JobView
from castsmith.pipelines._services import Services
from castsmith.pipelines.lora.grid import grid_view
from castsmith.pipelines.lora.readiness import gate
from castsmith.pipelines.lora.records import TRAIN, load, load_actor, trainer_registry, view
from castsmith.pipelines.lora.run import cancel_remote
from castsmith.pipelines.lora.weights import weights_url


@dataclass(frozen=True)
class TrainRequest:
    """What a user may ask of a training; ``None`` means the default."""

    provider: str | None = None
    steps: int | None = None
    rank: int | None = None
    learning_rate: float | None = None
    resolution: int | None = None
    trigger_word: str | None = None
    force: bool = False


def _params(request: TrainRequest, actor_trigger: str | None) -> TrainingParams:
    trigger = request.trigger_word or actor_trigger
    values: dict[str, Any] = {"trigger_word": check_trigger_word(trigger)}
    for name in ("steps", "rank", "learning_rate", "resolution"):
        value = getattr(request, name)
        if value is not None:
            values[name] = value
    return TrainingParams(**values).validate()


def _active(services: Services, actor_id: int) -> int | None:
    with services.sessions() as session:
        for row in LoraRepository(session, services.caller).for_actor(actor_id):
            if row.status not in TERMINAL:
                return row.version
    return None


async def start_training(
    services: Services, actor_id: int, request: TrainRequest, *, webhook_url: str | None = None
) -> tuple[dict[str, Any], JobView]:
    """Check the request and the dataset, record version n and queue its ``lora.train``
    job (``webhook_url`` receives a POST when it ends). ``DatasetNotReady`` (a 409 with
    the report) unless ``request.force``."""
    actor = await asyncio.to_thread(load_actor, services, actor_id)
    trainer = trainer_registry(services).get(request.provider)
    params = _params(request, actor.lora_trigger_word)
    if not isinstance(request.force, bool):
        raise ValidationError("force must be true or false", "force")
    running = await asyncio.to_thread(_active, services, actor_id)
    if running is not None:
        raise Conflict(f"LoRA v{running} of {actor.name!r} is still training; cancel it first")
    report = await gate(services, actor_id, trainer, force=request.force)
    recorded = params.as_dict()
    if not report.ready:
        # Forced: the version keeps what the report said, so nobody wonders later.
        recorded["forced"] = {"reasons": list(report.reasons)}

    def create() -> int:
        with services.sessions.begin() as session:
            row = LoraRepository(session, services.caller).create(
                actor_id,
                source=SOURCE_TRAINED,
                provider=trainer.name,
                trigger_word=params.trigger_word,
                params=recorded,
                strength=actor.lora_strength_model or 0.8,
            )
            return row.id

    training_id = await asyncio.to_thread(create)
    queue = services.queue
    try:
        job: JobView = await asyncio.to_thread(
            queue.enqueue,
            TRAIN,
            {"training_id": training_id, "actor_id": actor_id},
            owner_id=actor.owner_id,
            label=actor.name,
            webhook_url=webhook_url,
        )
    except BaseException:
        await asyncio.to_thread(_delete, services, training_id)
        raise
    await asyncio.to_thread(_set_job, services, training_id, job.id)
    return await training(services, training_id), job


def _delete(services: Services, training_id: int) -> None:
    with services.sessions.begin() as session:
        session.delete(LoraRepository(session, services.caller).get(training_id))


def _set_job(services: Services, training_id: int, job_id: int) -> None:
    with services.sessions.begin() as session:
        LoraRepository(session, services.caller).set(training_id, job_id=job_id)


async def versions(services: Services, actor_id: int) -> list[dict[str, Any]]:
    """Every LoRA version of the actor, newest first (``NotFound`` for an unknown actor)."""

    def read() -> list[dict[str, Any]]:
        load_actor(services, actor_id)
        with services.sessions() as session:
            return [
                view(row) for row in LoraRepository(session, services.caller).for_actor(actor_id)
            ]

    return await asyncio.to_thread(read)


async def training(services: Services, training_id: int) -> dict[str, Any]:
    """One version with its test grid's URLs."""
    row = await asyncio.to_thread(load, services, training_id)
    data = view(row)
    data["test_grid"] = await grid_view(services, row.test_grid or [])
    return data


async def cancel(services: Services, training_id: int) -> dict[str, Any]:
    """Cancel the castsmith job and the remote training (``Conflict`` once it ended)."""
    row = await asyncio.to_thread(load, services, training_id)
    if row.status in TERMINAL:
        raise Conflict(f"LoRA v{row.version} already ended ({row.status}); nothing to cancel")
    if row.job_id is not None:
        queue = services.queue
        # The job may just have ended; the remote training is still cancelled below.
        with contextlib.suppress(Conflict):
            await asyncio.to_thread(queue.cancel, row.job_id)
    latest = await asyncio.to_thread(load, services, training_id)
    if latest.status != CANCELED and latest.status not in (SUCCEEDED,):
        await cancel_remote(services, latest)
    return await training(services, training_id)


async def make_current(services: Services, training_id: int) -> dict[str, Any]:
    """Point the actor's LoRA at this version again (it must have weights)."""

    def change() -> None:
        with services.sessions.begin() as session:
            repo = LoraRepository(session, services.caller)
            row = repo.get(training_id)
            if not row.weights_key:
                raise Conflict(f"LoRA v{row.version} has no weights ({row.status})")
            repo.make_current(row, weights_url(services, row.weights_key))

    await asyncio.to_thread(change)
    return await training(services, training_id)


async def weights_link(services: Services, training_id: int) -> dict[str, Any]:
    """A signed, expiring link to the version's ``.safetensors``."""
    row = await asyncio.to_thread(load, services, training_id)
    if not row.weights_key:
        raise Conflict(f"LoRA v{row.version} has no weights yet ({row.status})")
    return {
        "training_id": row.id,
        "version": row.version,
        "file_name": row.weights_key.rsplit("/", 1)[-1],
        "size_bytes": row.weights_size,
        "sha256": row.weights_sha256,
        "url": await services.urls.url_for(row.weights_key),
    }


async def test_grid(services: Services, training_id: int) -> dict[str, Any]:
    """The version's test grid: cells with prompt, strength, seed and URL."""
    row = await asyncio.to_thread(load, services, training_id)
    return {
        "training_id": row.id,
        "version": row.version,
        "strength": row.strength,
        "job_id": row.grid_job_id,
        "cells": await grid_view(services, row.test_grid or []),
    }


async def pick_strength(services: Services, training_id: int, strength: object) -> dict[str, Any]:
    """Make ``strength`` (from the grid) the version's and, if current, the actor's default."""
    value = check_strength(strength)

    def change() -> None:
        with services.sessions.begin() as session:
            repo = LoraRepository(session, services.caller)
            row = repo.get(training_id)
            repo.set(training_id, strength=value)
            session.refresh(row)
            if row.is_current and row.weights_key:
                repo.make_current(row, weights_url(services, row.weights_key))

    await asyncio.to_thread(change)
    return await training(services, training_id)


def parse_request(data: dict[str, Any]) -> TrainRequest:
    """A :class:`TrainRequest` from JSON, refusing unknown fields by name."""
    known = set(TrainRequest.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]!r}", unknown[0])
    return TrainRequest(**data)
