"""The poster job kinds: one generation, and a batch that waits for one child per actor."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from castsmith.jobs.registry import HandlerRegistry, JobPayload, PayloadRowId
from castsmith.jobs.types import ChildrenSummary, JobSpec, WaitForChildren
from castsmith.pipelines._remote import RemoteWork
from castsmith.pipelines._services import Ctx
from castsmith.pipelines.posters import KIND_BATCH, KIND_GENERATE, MAX_BATCH, generate_poster
from castsmith.pipelines.posters.params import PosterOverrides


class PosterPayload(JobPayload):
    """``poster.generate``: the actor and the overrides of how its poster is drawn."""

    actor_id: PayloadRowId
    overrides: PosterOverrides = Field(default_factory=PosterOverrides)
    # False: a draft that joins the history without replacing the current poster.
    make_current: bool = True


class BatchPayload(JobPayload):
    """``poster.regenerate_batch``: the actors, shared overrides, and the children's provider."""

    actor_ids: list[PayloadRowId] = Field(default_factory=list, max_length=MAX_BATCH)
    overrides: PosterOverrides = Field(default_factory=PosterOverrides)
    provider: str | None = Field(default=None, max_length=100)


async def _handle_generate(ctx: Ctx) -> dict[str, Any]:
    overrides = PosterOverrides.model_validate(ctx.payload.get("overrides") or {})

    async def report(percent: float, message: str) -> None:
        await ctx.progress(percent, message)

    return await generate_poster(
        ctx.services,
        int(ctx.payload["actor_id"]),
        overrides,
        job_id=ctx.job_id,
        progress=report,
        remote=RemoteWork(ctx),
        make_current=ctx.payload.get("make_current", True) is not False,
    )


async def _handle_batch(ctx: Ctx) -> WaitForChildren:
    actor_ids = [int(i) for i in ctx.payload.get("actor_ids", [])]
    overrides = dict(ctx.payload.get("overrides") or {})
    provider = ctx.payload.get("provider")
    await ctx.progress(1, f"queueing {len(actor_ids)} posters")
    await ctx.spawn(
        [
            JobSpec(
                kind=KIND_GENERATE,
                payload={"actor_id": actor_id, "overrides": overrides},
                provider=provider,
                label=f"actor {actor_id}",
            )
            for actor_id in actor_ids
        ]
    )
    return WaitForChildren()


async def _batch_done(_ctx: Ctx, summary: ChildrenSummary) -> dict[str, Any]:
    done = [child for child in summary.children if child.status == "completed"]
    return {
        "total": len(summary.children),
        "succeeded": len(done),
        "failed": len(summary.children) - len(done),
        "errors": summary.error_log,
    }


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the poster job kinds."""
    registry.register(KIND_GENERATE, _handle_generate, payload=PosterPayload)
    registry.register(KIND_BATCH, _handle_batch, on_children_done=_batch_done, payload=BatchPayload)
