"""The actor job kinds: ``actor.base_image`` makes and stores an actor's base portrait."""

from __future__ import annotations

from typing import Any

from castsmith.jobs.registry import HandlerRegistry, JobContext
from castsmith.pipelines.actors import KIND_BASE_IMAGE, generate_base_image


async def _handle_base_image(ctx: JobContext) -> dict[str, Any]:
    payload = ctx.payload
    await ctx.progress(5, "making the portrait")
    actor = await generate_base_image(
        ctx.services,
        int(payload["actor_id"]),
        prompt=payload.get("prompt"),
        seed=payload.get("seed"),
    )
    await ctx.progress(100, "base image stored")
    return {"actor_id": actor["id"], "base_image_url": actor["base_image_url"]}


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the actor job kinds (``actor.base_image``)."""
    registry.register(KIND_BASE_IMAGE, _handle_base_image, timeout=600)
