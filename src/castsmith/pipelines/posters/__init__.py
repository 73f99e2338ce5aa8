"""Poster frames: draw an actor's poster on the poster provider and keep it as a version.

One ``poster.generate`` job builds the FLUX + LoRA workflow from the actor and the
request's overrides, runs it on the configured poster provider (RunPod, ComfyUI or the
offline renderer), makes the WebP sm/md/lg renditions in a worker thread, and saves
everything as the actor's next poster version (see :mod:`.store`). Its result is
the seeds' regenerate response. ``poster.regenerate_batch`` fans out one child job per
actor.

Use cases for the API and CLI: :func:`request_poster`, :func:`request_batch`,
:func:`history`, :func:`make_current`, :func:`resolve_actor`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from castsmith.db.repositories.actors import ActorFilters, ActorRepository
from castsmith.db.repositories.posters import PosterRepository
from castsmith.domain.errors import (
    NotFound,
    ProviderError,
    ValidationError,
)
from castsmith.imaging.inspect import inspect_image
from castsmith.imaging.renditions import make_renditions
from castsmith.jobs.types import JobView
from castsmith.pipelines._assets import AssetProvenance
from castsmith.pipelines._failover import with_failover
from castsmith.pipelines._remote import RemoteWork
from castsmith.pipelines._services import Services
from castsmith.pipelines.lora.delivery import deliver_current
from castsmith.pipelines.posters.params import PosterOverrides, params_record, poster_params
from castsmith.pipelines.posters.store import (
    ActorRef,
    save_poster_version,
    seed_response,
    version_view,
)
from castsmith.providers.base import ImageProvider, ImageResult, RemoteCall, RunWorkflow
from castsmith.workflows.poster_frame import TEACACHE_NODES, build_poster_workflow

KIND_GENERATE = "poster.generate"
KIND_BATCH = "poster.regenerate_batch"
SEED_KEYS = ("success", "actor_id", "actor_name", "poster_frames", "message")
MAX_BATCH = 10_000

Progress = Callable[[float, str], Awaitable[None]]


async def _no_progress(_percent: float, _message: str) -> None:
    return None


async def _load_actor(services: Services, actor_id: int) -> Any:
    def load() -> Any:
        with services.sessions() as session:
            return ActorRepository(session, services.caller).get(actor_id)

    return await asyncio.to_thread(load)


async def generate_poster(
    services: Services,
    actor_id: int,
    overrides: PosterOverrides,
    *,
    job_id: int | None = None,
    progress: Progress = _no_progress,
    remote: RemoteWork | None = None,
    make_current: bool = True,
) -> dict[str, Any]:
    """Draw, convert and save one poster version; return the job result.

    ``make_current=False`` keeps the actor's current poster: the new version only joins
    the history, to be compared and maybe made current later.

    ``remote`` (from the job handler) records the provider's job id before waiting and
    resumes it on a later attempt, so one poster is paid for once.

    The result is the seeds' response plus a ``poster`` entry with the version,
    seed and provider.
    """
    await progress(2, "building the workflow")
    actor = await _load_actor(services, actor_id)
    params = poster_params(actor, overrides, fix_seed=True)
    ref = ActorRef.of(actor)
    workflow = build_poster_workflow(params)
    provider = services.providers.for_role("poster")
    if params.character_lora is not None:
        # A LoRA castsmith trained or imported is put where this provider loads it first.
        await deliver_current(services, actor_id, params.character_lora.file_name, provider.name)

    async def provider_progress(fraction: float, message: str) -> None:
        await progress(10 + 65 * fraction, message or "generating")

    await progress(10, f"generating on {provider.name}")
    # TeaCache only speeds sampling up: unless the request asked for it, the provider may
    # draw without it on a server that lacks it (and says so in the provenance).
    optional = TEACACHE_NODES if overrides.teacache is None else frozenset()

    async def draw(chosen: ImageProvider, remote_call: RemoteCall | None) -> ImageResult:
        if chosen is not provider and params.character_lora is not None:
            # Failing over: the LoRA goes where this provider loads it too.
            file_name = params.character_lora.file_name
            await deliver_current(services, actor_id, file_name, chosen.name)
        return await chosen.run_workflow(
            RunWorkflow(workflow, optional_nodes=optional), provider_progress, remote=remote_call
        )

    # Metered in the cost ledger, paid once (the remote id is checkpointed in a job), and
    # failing over to the next poster provider on a retryable error.
    result = await with_failover(
        services, "poster", "workflow", provider, draw, actor_id=actor_id, work=remote
    )
    if not result.images:
        raise ProviderError(f"{provider.name} finished without returning an image", provider.name)
    image = result.images[0]

    await progress(78, "converting to WebP")
    max_pixels = services.settings.max_image_pixels
    info = await asyncio.to_thread(inspect_image, image.data, max_pixels=max_pixels, decode=False)
    # Converting runs in a thread while the version is reserved and the source uploads.
    renditions = asyncio.ensure_future(
        asyncio.to_thread(make_renditions, image.data, max_pixels=max_pixels)
    )
    prov = result.provenance
    record = params_record(params)
    provenance = AssetProvenance(
        provider=prov.provider,
        model=prov.model,
        prompt=record["prompt"],
        seed=params.seed,
        provider_job_id=prov.provider_job_id,
        owner_id=ref.owner_id,
        meta={
            "placeholder": prov.placeholder,
            "timings": dict(prov.timings),
            **({"notes": list(prov.notes)} if prov.notes else {}),
        },
    )

    async def converted() -> None:
        await progress(90, "uploading")

    keys = await save_poster_version(
        services,
        services.keys,
        ref,
        image.data,
        info,
        renditions,
        provenance=provenance,
        params=record,
        job_id=job_id,
        on_converted=converted,
        make_current=make_current,
    )
    response = await seed_response(services, ref, keys.renditions)
    response["poster"] = {
        "version": keys.version,
        "seed": params.seed,
        "provider": prov.provider,
        "placeholder": prov.placeholder,
        "is_current": make_current,
    }
    if not make_current:
        response["message"] = f"Poster version {keys.version} drawn; the current poster is kept"
    kept = "" if make_current else " (not made current)"
    await progress(100, f"poster version {keys.version} saved{kept}")
    return response


# --- use cases for the API and the CLI --------------------------------------------------


async def resolve_actor(services: Services, ref: str | int) -> ActorRef:
    """An actor by id or by name; ``NotFound`` when neither matches."""

    def find() -> ActorRef:
        with services.sessions() as session:
            repo = ActorRepository(session, services.caller)
            text = str(ref).strip()
            if text.isdigit():
                try:
                    return ActorRef.of(repo.get(int(text)))
                except NotFound:
                    pass
            actor = repo.by_name(text)
            if actor is None or actor.deleted_at is not None:
                raise NotFound(f"actor {text!r} not found")
            return ActorRef.of(actor)

    return await asyncio.to_thread(find)


async def request_poster(
    services: Services,
    actor_id: int,
    overrides: PosterOverrides,
    *,
    actor_name: str | None = None,
    make_current: bool = True,
    webhook_url: str | None = None,
) -> JobView:
    """Queue a poster for an actor after checking the request; return the job.

    ``webhook_url`` receives a POST when the job ends.

    While a poster job for the actor is queued or running, the same job comes back
    (two quick clicks make one job). A draft (``make_current=False``) has a key of its
    own, so it never hands back a job that will replace the current poster.
    """
    actor = await _load_actor(services, actor_id)
    if actor_name is not None and actor_name != actor.name:
        raise ValidationError(
            f"actor_name {actor_name!r} does not match actor {actor_id} ({actor.name!r})",
            "actor_name",
        )
    poster_params(actor, overrides, fix_seed=False)  # refuse bad values before queueing
    provider = services.providers.for_role("poster")
    payload: dict[str, Any] = {"actor_id": actor_id, "overrides": overrides.payload()}
    key = f"{KIND_GENERATE}:{actor_id}"
    if not make_current:
        payload["make_current"] = False  # left out otherwise: the payload stays the seeds'
        key += ":draft"
    job: JobView = await asyncio.to_thread(
        services.queue.enqueue,
        KIND_GENERATE,
        payload,
        provider=provider.name,
        idempotency_key=key,
        owner_id=actor.owner_id,
        webhook_url=webhook_url,
    )
    return job


async def request_batch(
    services: Services,
    overrides: PosterOverrides,
    *,
    actor_ids: list[int] | None = None,
    filters: ActorFilters | None = None,
    webhook_url: str | None = None,
) -> JobView:
    """Queue one parent job with a child poster job per actor (by ids or by filter);
    ``webhook_url`` receives a POST when the parent ends."""
    if (actor_ids is None) == (filters is None):
        raise ValidationError("give either actor_ids or filter", "actor_ids")

    def select_ids() -> list[int]:
        with services.sessions() as session:
            repo = ActorRepository(session, services.caller)
            if actor_ids is not None:
                for actor_id in actor_ids:
                    repo.get(actor_id)
                return list(dict.fromkeys(actor_ids))
            assert filters is not None
            page = repo.search(filters, after_id=None, limit=MAX_BATCH)
            return [actor.id for actor in page.items]

    ids = await asyncio.to_thread(select_ids)
    if not ids:
        raise ValidationError("no actors match", "actor_ids" if actor_ids is not None else "filter")
    if len(ids) > MAX_BATCH:
        raise ValidationError(f"at most {MAX_BATCH} actors per batch", "actor_ids")
    provider = services.providers.for_role("poster")
    job: JobView = await asyncio.to_thread(
        services.queue.enqueue,
        KIND_BATCH,
        {"actor_ids": ids, "overrides": overrides.payload(), "provider": provider.name},
        webhook_url=webhook_url,
        owner_id=services.caller.user_id,
    )
    return job


async def history(services: Services, actor_id: int) -> list[dict[str, Any]]:
    """Every poster version of an actor, newest first, with URLs."""

    def load() -> list[Any]:
        with services.sessions() as session:
            ActorRepository(session, services.caller).get(actor_id)
            return PosterRepository(session, services.caller).history(actor_id)

    records = await asyncio.to_thread(load)
    return [await version_view(services, record) for record in records]


async def make_current(services: Services, actor_id: int, version: int) -> dict[str, Any]:
    """Make an earlier (or later) version the actor's poster again; return it."""

    def change() -> Any:
        with services.sessions.begin() as session:
            PosterRepository(session, services.caller).make_current(actor_id, version)
        with services.sessions() as session:
            return PosterRepository(session, services.caller).get(actor_id, version)

    record = await asyncio.to_thread(change)
    return await version_view(services, record)


def seed_shape(result: dict[str, Any] | None) -> dict[str, Any]:
    """The seeds' response fields of a poster job's result.

    A draft (not made current) also says which version it became, an extra field the
    seeds never asked for: their regenerations are always made current.
    """
    result = result or {}
    shape = {key: result.get(key) for key in SEED_KEYS}
    poster = result.get("poster")
    if isinstance(poster, dict) and poster.get("is_current") is False:
        shape["poster"] = {"version": poster.get("version"), "is_current": False}
    return shape
