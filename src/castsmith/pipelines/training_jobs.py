"""Training data as jobs: generate-all (a parent with one child per prompt) and one image.

``training.generate_all`` reads the prompt library for the actor's type and sex, skips
prompts that already have a non-rejected image (so running it again resumes where it
stopped) and spawns one ``training.generate_one`` child per remaining prompt. Each child
carries ``provider=`` so the engine's per-provider caps and rate limits apply. The
parent ends ``completed``, ``completed_with_errors`` or ``failed`` from its children;
its result counts what was created, failed and skipped. ``training.generate_one`` also
serves a single image with a custom prompt.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from castsmith.db.repositories.training import TrainingRepository
from castsmith.domain.errors import ValidationError
from castsmith.domain.training_prompts import TrainingPrompt, builtin_library
from castsmith.jobs.registry import HandlerRegistry, HandlerResult, JobContext
from castsmith.jobs.types import ChildrenSummary, JobSpec, JobView, WaitForChildren
from castsmith.pipelines.fetch import fetch_url, policy_from_settings
from castsmith.pipelines.queue_access import job_queue
from castsmith.pipelines.training import (
    ActorFacts,
    TrainingRequest,
    TrainingServices,
    clear_stale_reservations,
    generate_training_image,
    image_provider,
    load_actor,
)

KIND_ALL = "training.generate_all"
KIND_ONE = "training.generate_one"
ONE_IMAGE_TIMEOUT = 900.0


@dataclass(frozen=True)
class GenerateOptions:
    """What a generate request may say besides the actor (all optional)."""

    provider: str | None = None
    base_image_url: str | None = None
    actor_type: str | None = None
    actor_sex: str | None = None
    seed: int | None = None

    def payload(self) -> dict[str, Any]:
        """The non-empty options, for a job payload."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> GenerateOptions:
        """Read the options back from a job payload."""
        return cls(**{k: payload.get(k) for k in cls.__dataclass_fields__})


def _prompts(actor: ActorFacts, options: GenerateOptions) -> list[TrainingPrompt]:
    return builtin_library().for_actor(
        options.actor_type or actor.actor_type, options.actor_sex or actor.sex
    )


def pending_prompts(
    services: TrainingServices, actor: ActorFacts, options: GenerateOptions
) -> tuple[list[TrainingPrompt], int]:
    """The prompts still without a non-rejected image, and how many are done. Sync."""
    prompts = _prompts(actor, options)
    with services.sessions() as session:
        done = TrainingRepository(session).done_prompt_ids(actor.id)
    todo = [prompt for prompt in prompts if prompt.id not in done]
    return todo, len(prompts) - len(todo)


async def check_request(
    services: TrainingServices, actor_id: int, options: GenerateOptions
) -> tuple[ActorFacts, str]:
    """Refuse a request early: unknown actor, no base image, bad URL or provider.

    Returns the actor and the name of the provider that will run the images.
    """
    actor = await asyncio.to_thread(load_actor, services, actor_id)
    provider = image_provider(services, options.provider)
    if options.base_image_url:
        policy = policy_from_settings(services.settings)
        await fetch_url(options.base_image_url, policy, field="base_image_url")
    elif actor.base_key is None:
        raise ValidationError(
            f"actor {actor.name!r} has no base image; upload one or pass base_image_url",
            "base_image",
        )
    return actor, provider.name


async def enqueue_generate_all(
    services: TrainingServices, actor_id: int, options: GenerateOptions
) -> JobView:
    """Check the request and enqueue a ``training.generate_all`` job."""
    await check_request(services, actor_id, options)
    payload = {"actor_id": actor_id, **options.payload()}
    view: JobView = await asyncio.to_thread(job_queue(services).enqueue, KIND_ALL, payload)
    return view


async def enqueue_generate_one(
    services: TrainingServices,
    actor_id: int,
    prompt: str,
    options: GenerateOptions,
    *,
    prompt_id: str | None = None,
) -> JobView:
    """Check the request and enqueue one ``training.generate_one`` job (custom prompt)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValidationError("prompt must not be empty", "prompt")
    _, provider = await check_request(services, actor_id, options)
    payload = {"actor_id": actor_id, "prompt": prompt.strip(), **options.payload()}
    if prompt_id:
        payload["prompt_id"] = prompt_id
    view: JobView = await asyncio.to_thread(
        job_queue(services).enqueue, KIND_ONE, payload, provider=provider, label=prompt_id
    )
    return view


async def handle_generate_one(ctx: JobContext) -> HandlerResult:
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
    return image.as_dict()


async def handle_generate_all(ctx: JobContext) -> HandlerResult:
    """Spawn one child per prompt that has no image yet; wait for them."""
    services = ctx.services
    actor_id = int(ctx.payload["actor_id"])
    options = GenerateOptions.from_payload(ctx.payload)
    actor, provider = await check_request(services, actor_id, options)
    await clear_stale_reservations(services, actor_id)
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


async def finish_generate_all(ctx: JobContext, summary: ChildrenSummary) -> dict[str, Any]:
    """Roll the children up into the parent's result."""
    created = [child.result for child in summary.children if child.status == "completed"]
    failed = [child for child in summary.children if child.status != "completed"]
    todo_total = len(summary.children)
    actor = await asyncio.to_thread(load_actor, ctx.services, int(ctx.payload["actor_id"]))
    options = GenerateOptions.from_payload(ctx.payload)
    skipped = len(_prompts(actor, options)) - todo_total
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
    registry.register(KIND_ONE, handle_generate_one, timeout=ONE_IMAGE_TIMEOUT)
    registry.register(KIND_ALL, handle_generate_all, on_children_done=finish_generate_all)
