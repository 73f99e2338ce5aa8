"""The training job kinds: generate-all (a parent over the library) and one image."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from castsmith.db.repositories.assets import AssetRepository
from castsmith.domain import access
from castsmith.jobs.registry import (
    HandlerRegistry,
    HandlerResult,
    JobPayload,
    PayloadRowId,
)
from castsmith.jobs.types import ChildrenSummary, JobSpec, WaitForChildren
from castsmith.pipelines._checks import KIND_CHECK, request_checks
from castsmith.pipelines._services import Ctx, Services
from castsmith.pipelines.training import (
    KIND_ALL,
    KIND_ONE,
    ONE_IMAGE_TIMEOUT,
    GenerateOptions,
    check_request,
    pending_prompts,
    prompts_for,
)
from castsmith.pipelines.training.checks import check_assets
from castsmith.pipelines.training.curation import readiness_report, triage
from castsmith.pipelines.training.generate import generate_training_image
from castsmith.pipelines.training.images import (
    TrainingRequest,
    clear_stale_reservations,
    load_actor,
)

# Bounds as the routes that queue these kinds apply them.
PROMPT_MAX = 4000
URL_MAX = 2048
CHECK_ASSETS_MAX = 10_000


class OptionsPayload(JobPayload):
    """What a training request may say besides the actor (see ``GenerateOptions``)."""

    actor_id: PayloadRowId
    provider: str | None = Field(default=None, max_length=100)
    base_image_url: str | None = Field(default=None, max_length=URL_MAX)
    actor_type: str | None = Field(default=None, max_length=100)
    actor_sex: str | None = Field(default=None, max_length=100)
    seed: int | None = None
    auto_triage: bool | None = None


class GenerateAllPayload(OptionsPayload):
    """``training.generate_all``: the actor, and the options every child gets."""


class GenerateOnePayload(OptionsPayload):
    """``training.generate_one``: one prompt for the actor (a library one names its id)."""

    prompt: str = Field(min_length=1, max_length=PROMPT_MAX)
    prompt_id: str | None = Field(default=None, max_length=100)


class CheckPayload(JobPayload):
    """``curation.check``: an actor's images, or the assets named; triage when asked."""

    actor_id: PayloadRowId | None = None
    asset_ids: list[PayloadRowId] = Field(default_factory=list, max_length=CHECK_ASSETS_MAX)
    again: bool = False
    triage: bool | None = None


async def handle_generate_one(ctx: Ctx) -> HandlerResult:
    """Make one training image from the payload (actor_id, prompt, options)."""
    payload = ctx.payload
    options = GenerateOptions.from_payload(payload)

    async def progress(fraction: float, message: str) -> None:
        await ctx.progress(fraction * 90, message)

    # Children of a generate-all report through their parent's child count; skipping
    # their per-poll progress saves a database write per poll per image.
    image = await generate_training_image(
        ctx.services,
        TrainingRequest(
            actor_id=int(payload["actor_id"]),
            prompt=str(payload.get("prompt") or ""),
            prompt_id=payload.get("prompt_id"),
            provider=options.provider,
            base_image_url=options.base_image_url,
            seed=options.seed,
            job_id=ctx.job_id,
        ),
        None if ctx.parent_id is not None else progress,
    )
    actor_id = int(payload["actor_id"])
    await request_checks(ctx.services, actor_id=actor_id, triage=options.auto_triage)
    return image.as_dict()


async def handle_check(ctx: Ctx) -> HandlerResult:
    """Measure the images that need it (an actor's base and training images, or the
    assets named); triage the actor's dataset when asked; report on it."""
    payload = ctx.payload
    actor_id = payload.get("actor_id")
    services = ctx.services

    async def progress(done: int, total: int) -> None:
        await ctx.progress(90 * done / max(total, 1), f"{done} of {total} images checked")

    if actor_id is not None:
        # In the job owner's scope: another user's actor is NotFound, before any of its
        # images is measured or its dataset triaged.
        await asyncio.to_thread(load_actor, services, int(actor_id))
    named = [int(i) for i in payload.get("asset_ids", [])]
    checked = await check_assets(
        services,
        actor_id=int(actor_id) if actor_id is not None else None,
        asset_ids=await asyncio.to_thread(owned_assets, services, named),
        again=bool(payload.get("again")),
        progress=progress,
    )
    result: dict[str, Any] = {"checked": checked}
    if actor_id is not None:
        wanted = payload.get("triage")
        if wanted if wanted is not None else services.settings.curation_auto_triage:
            result["triaged"] = await triage(services, int(actor_id))
        result["report"] = (await readiness_report(services, int(actor_id))).as_dict()
    return result


def owned_assets(services: Services, asset_ids: list[int]) -> list[int]:
    """Those of ``asset_ids`` the caller may see (all of them for admins and the
    operator). Sync.

    Not every asset records its owner, so an asset is also the caller's through what
    holds it: their actor's base image or training image, their persona's images, their
    reference. A check job naming someone else's assets measures none of them.
    """
    scope = access.owner_scope(services.caller)
    if scope is None or not asset_ids:
        return asset_ids
    with services.sessions() as session:
        owned = AssetRepository(session).held_by(scope, asset_ids)
    return [asset_id for asset_id in asset_ids if asset_id in owned]


async def handle_generate_all(ctx: Ctx) -> HandlerResult:
    """Spawn one child per prompt that has no image yet; wait for them."""
    services = ctx.services
    actor_id = int(ctx.payload["actor_id"])
    options = GenerateOptions.from_payload(ctx.payload)
    actor, provider = await check_request(services, actor_id, options)
    await clear_stale_reservations(services)
    todo, done = await asyncio.to_thread(pending_prompts, services, actor, options)
    if not todo:
        return {"actor_id": actor_id, "created": 0, "failed": 0, "skipped": done, "items": []}
    sex = options.actor_sex or actor.sex
    kind_of_actor = options.actor_type or actor.actor_type
    children = [
        JobSpec(
            kind=KIND_ONE,
            payload={
                "actor_id": actor_id,
                "prompt": prompt.render(kind_of_actor, sex),
                "prompt_id": prompt.id,
                **options.payload(),
            },
            provider=provider,
            label=prompt.id,
        )
        for prompt in todo
    ]
    await ctx.spawn(children)
    await ctx.progress(1, f"{len(children)} images queued, {done} already done")
    return WaitForChildren()


async def finish_generate_all(ctx: Ctx, summary: ChildrenSummary) -> dict[str, Any]:
    """Roll the children up into the parent's result."""
    created = [child.result for child in summary.children if child.status == "completed"]
    failed = [child for child in summary.children if child.status != "completed"]
    todo_total = len(summary.children)
    actor = await asyncio.to_thread(load_actor, ctx.services, int(ctx.payload["actor_id"]))
    options = GenerateOptions.from_payload(ctx.payload)
    skipped = len(prompts_for(actor, options)) - todo_total
    return {
        "actor_id": actor.id,
        "created": len(created),
        "failed": len(failed),
        "skipped": max(0, skipped),
        "items": [item for item in created if item],
        "errors": [
            {"prompt_id": child.label, "job_id": child.id, "error": child.error} for child in failed
        ],
    }


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the training job kinds."""
    # A provider that never answers must not hold a capped slot for ever.
    registry.register(
        KIND_ONE, handle_generate_one, timeout=ONE_IMAGE_TIMEOUT, payload=GenerateOnePayload
    )
    registry.register(
        KIND_ALL,
        handle_generate_all,
        on_children_done=finish_generate_all,
        payload=GenerateAllPayload,
    )
    registry.register(KIND_CHECK, handle_check, payload=CheckPayload)
