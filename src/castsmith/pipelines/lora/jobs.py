"""The LoRA job kinds: ``lora.train`` (one training) and ``lora.test_grid`` (its grid).

A training job that stores a new current version then queues a poster regeneration
with it and the version's test grid, and records both job ids on the version.
"""

from __future__ import annotations

import asyncio
from typing import Any

from castsmith.domain.errors import ValidationError
from castsmith.jobs.registry import HandlerRegistry, JobPayload, PayloadRowId
from castsmith.pipelines._services import Ctx, Services
from castsmith.pipelines.lora.grid import draw_grid
from castsmith.pipelines.lora.records import TEST_GRID, TRAIN, load, update
from castsmith.pipelines.lora.run import run_training
from castsmith.pipelines.posters import request_poster
from castsmith.pipelines.posters.params import PosterOverrides

# Trainings are billed: a few attempts resume polling; they never submit twice.
TRAIN_ATTEMPTS = 5


class TrainPayload(JobPayload):
    """``lora.train``: the training row (and its actor, for the job list)."""

    training_id: PayloadRowId
    actor_id: PayloadRowId | None = None


class GridPayload(JobPayload):
    """``lora.test_grid``: the training whose version the grid shows."""

    training_id: PayloadRowId


async def queue_follow_ups(services: Services, training_id: int) -> dict[str, Any]:
    """Queue the poster regeneration and the test grid of a new current version.

    A poster that cannot be queued (an actor without a description) does not undo the
    trained version: the reason is added to the version's log lines instead.
    """
    row = await asyncio.to_thread(load, services, training_id)
    poster_id: int | None = None
    try:
        poster_id = (await request_poster(services, row.actor_id, PosterOverrides())).id
    except ValidationError as exc:
        note = f"poster not regenerated: {exc}"
        await asyncio.to_thread(update, services, training_id, logs=[*(row.logs or []), note])
    grid = await asyncio.to_thread(
        services.queue.enqueue,
        TEST_GRID,
        {"training_id": training_id},
        provider=services.providers.for_role("poster").name,
        idempotency_key=f"{TEST_GRID}:{training_id}",
        label=f"v{row.version}",
        owner_id=services.caller.user_id,
    )
    await asyncio.to_thread(
        update, services, training_id, poster_job_id=poster_id, grid_job_id=grid.id
    )
    return {"poster_job_id": poster_id, "grid_job_id": grid.id}


async def _handle_train(ctx: Ctx) -> dict[str, Any]:
    training_id = int(ctx.payload["training_id"])

    async def report(percent: float, message: str) -> None:
        await ctx.progress(percent, message)

    result = await run_training(
        ctx.services, training_id, report, cancel_requested=lambda: ctx.cancel_requested
    )
    row = await asyncio.to_thread(load, ctx.services, training_id)
    if row.grid_job_id is None and row.is_current:
        result.update(await queue_follow_ups(ctx.services, training_id))
    await ctx.progress(100, f"LoRA v{row.version} is ready")
    return result


async def _handle_grid(ctx: Ctx) -> dict[str, Any]:
    training_id = int(ctx.payload["training_id"])

    async def report(percent: float, message: str) -> None:
        await ctx.progress(percent, message)

    cells = await draw_grid(ctx.services, training_id, report)
    return {"training_id": training_id, "cells": len(cells)}


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the LoRA job kinds."""
    registry.register(TRAIN, _handle_train, max_attempts=TRAIN_ATTEMPTS, payload=TrainPayload)
    registry.register(TEST_GRID, _handle_grid, payload=GridPayload)
