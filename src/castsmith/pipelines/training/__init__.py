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
from castsmith.jobs.types import JobView
from castsmith.net.fetch import fetch_url, policy_from_settings
from castsmith.pipelines._services import Services
from castsmith.pipelines.training.images import (
    ActorFacts,
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
    auto_triage: bool | None = None

    def payload(self) -> dict[str, Any]:
        """The non-empty options, for a job payload."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> GenerateOptions:
        """Read the options back from a job payload."""
        return cls(**{k: payload.get(k) for k in cls.__dataclass_fields__})


def prompts_for(actor: ActorFacts, options: GenerateOptions) -> list[TrainingPrompt]:
    return builtin_library().for_actor(
        options.actor_type or actor.actor_type, options.actor_sex or actor.sex
    )


def pending_prompts(
    services: Services, actor: ActorFacts, options: GenerateOptions
) -> tuple[list[TrainingPrompt], int]:
    """The prompts still without a non-rejected image, and how many are done. Sync."""
    prompts = prompts_for(actor, options)
    with services.sessions() as session:
        done = TrainingRepository(session).done_prompt_ids(actor.id)
    todo = [prompt for prompt in prompts if prompt.id not in done]
    return todo, len(prompts) - len(todo)


async def check_request(
    services: Services, actor_id: int, options: GenerateOptions
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
            f"actor {actor.name!r} has no base image to draw training images from; give it "
            "one first (upload, URL or generated; on the command line: --base-image FILE "
            f"or castsmith actors base-image {actor.name} --generate), or pass base_image_url",
            "base_image",
        )
    return actor, provider.name


async def enqueue_generate_all(
    services: Services,
    actor_id: int,
    options: GenerateOptions,
    *,
    webhook_url: str | None = None,
) -> JobView:
    """Check the request and enqueue a ``training.generate_all`` job (``webhook_url``
    receives a POST when it ends)."""
    await check_request(services, actor_id, options)
    payload = {"actor_id": actor_id, **options.payload()}
    view: JobView = await asyncio.to_thread(
        services.queue.enqueue,
        KIND_ALL,
        payload,
        webhook_url=webhook_url,
        owner_id=services.caller.user_id,
    )
    return view


async def enqueue_generate_one(
    services: Services,
    actor_id: int,
    prompt: str,
    options: GenerateOptions,
    *,
    prompt_id: str | None = None,
    webhook_url: str | None = None,
) -> JobView:
    """Check the request and enqueue one ``training.generate_one`` job (custom prompt)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValidationError("prompt must not be empty", "prompt")
    _, provider = await check_request(services, actor_id, options)
    payload = {"actor_id": actor_id, "prompt": prompt.strip(), **options.payload()}
    if prompt_id:
        payload["prompt_id"] = prompt_id
    view: JobView = await asyncio.to_thread(
        services.queue.enqueue,
        KIND_ONE,
        payload,
        provider=provider,
        label=prompt_id,
        webhook_url=webhook_url,
        owner_id=services.caller.user_id,
    )
    return view
