"""The actor job kinds: ``actor.base_image`` makes and stores an actor's base portrait."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from castsmith.jobs.registry import HandlerRegistry, JobPayload, PayloadRowId
from castsmith.pipelines._services import Ctx
from castsmith.pipelines.actors import KIND_BASE_IMAGE, generate_base_image


class BaseImagePayload(JobPayload):
    """``actor.base_image``: the actor, and an optional prompt and seed."""

    actor_id: PayloadRowId
    prompt: str | None = Field(default=None, max_length=4000)
    seed: int | None = None


async def _handle_base_image(ctx: Ctx) -> dict[str, Any]:
    payload = BaseImagePayload.model_validate(ctx.payload)
    await ctx.progress(5, "making the portrait")
    actor = await generate_base_image(
        ctx.services, payload.actor_id, prompt=payload.prompt, seed=payload.seed
    )
    await ctx.progress(100, "base image stored")
    return {"actor_id": actor["id"], "base_image_url": actor["base_image_url"]}


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the actor job kinds (``actor.base_image``)."""
    registry.register(KIND_BASE_IMAGE, _handle_base_image, timeout=600, payload=BaseImagePayload)
