"""Reading and writing LoRA training rows, and the JSON a user sees for one version."""

from __future__ import annotations

import asyncio
from typing import Any

from castsmith.db.models import Actor
from castsmith.db.models_lora import LoraTraining
from castsmith.db.repositories.actors import ActorRepository
from castsmith.db.repositories.lora import LoraRepository
from castsmith.pipelines._services import Services
from castsmith.providers.trainers.registry import TrainerRegistry

TRAIN = "lora.train"
TEST_GRID = "lora.test_grid"


def trainer_registry(services: Services) -> TrainerRegistry:
    """The container's trainers."""
    return services.trainers


def load(services: Services, training_id: int) -> LoraTraining:
    """The training row, detached (``NotFound`` when unknown). Sync."""
    with services.sessions() as session:
        row = LoraRepository(session, services.caller).get(training_id)
        session.expunge(row)
        return row


def load_actor(services: Services, actor_id: int) -> Actor:
    """The actor row, detached. Sync."""
    with services.sessions() as session:
        actor = ActorRepository(session, services.caller).get(actor_id)
        session.expunge(actor)
        return actor


def update(services: Services, training_id: int, **values: Any) -> None:
    """Set fields of a training in their own transaction. Sync."""
    with services.sessions.begin() as session:
        LoraRepository(session, services.caller).set(training_id, **values)


async def update_async(services: Services, training_id: int, **values: Any) -> None:
    """:func:`update` in a worker thread."""
    await asyncio.to_thread(update, services, training_id, **values)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def duration(row: LoraTraining) -> float | None:
    """Seconds from submission to the end, when both are known."""
    if row.submitted_at is None or row.finished_at is None:
        return None
    return round((row.finished_at - row.submitted_at).total_seconds(), 3)


def view(row: LoraTraining) -> dict[str, Any]:
    """One version as the API, CLI and page show it."""
    return {
        "id": row.id,
        "actor_id": row.actor_id,
        "version": row.version,
        "source": row.source,
        "provider": row.provider,
        "status": row.status,
        "is_current": row.is_current,
        "trigger_word": row.trigger_word,
        "params": row.params,
        "dataset": {
            "images": len(row.dataset or []),
            "key": row.dataset_key,
            "md5": row.dataset_md5,
            "size_bytes": row.dataset_size,
            "items": row.dataset or [],
        },
        "remote_id": row.remote_id,
        "remote": {k: v for k, v in (row.remote or {}).items() if not k.startswith("_")},
        "progress": row.progress,
        "logs": row.logs or [],
        "error": row.error,
        "usage": row.usage or {},
        "weights_key": row.weights_key,
        "weights_size": row.weights_size,
        "weights_sha256": row.weights_sha256,
        "file_name": (row.weights_key or "").rsplit("/", 1)[-1] or None,
        "strength": row.strength,
        "test_grid": row.test_grid or [],
        "job_id": row.job_id,
        "poster_job_id": row.poster_job_id,
        "grid_job_id": row.grid_job_id,
        "created_at": _iso(row.created_at),
        "submitted_at": _iso(row.submitted_at),
        "finished_at": _iso(row.finished_at),
        "duration_seconds": duration(row),
    }
