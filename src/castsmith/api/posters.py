"""The poster frame REST API: regenerate (one actor or many), history, make-current,
and each actor's remembered poster parameters.

``POST /api/actors/{id}/regenerate-poster-frame`` takes the seed UI's body and answers
202 with the queued job; with ``?wait=SECONDS`` it waits for the job and answers with
the seed's response (200), or 504 with the job id when it is not done in time (the job
keeps running). ``make_current: false`` draws a version that only joins the history.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from castsmith.api.schemas.common import NAME_MAX, TEXT_MAX, RowId, RowIdField
from castsmith.api.webhook_requests import RequestedWebhook
from castsmith.auth.scope import container_of
from castsmith.db.repositories.actors import ActorFilters
from castsmith.jobs.types import JobView
from castsmith.jobs.waiting import wait_for_job
from castsmith.pipelines import posters as use
from castsmith.pipelines.posters.defaults import (
    PosterDefaults,
    get_defaults,
    poster_choices,
    save_defaults,
)
from castsmith.pipelines.posters.params import PosterOverrides

router = APIRouter(tags=["posters"])

MAX_WAIT_SECONDS = 600.0


class RegenerateBody(PosterOverrides):
    """The seed UI's body (``actor_name``, ``lora_model_url``, ``actor_description``) plus
    optional parameter overrides. ``actor_name`` must match the actor when given."""

    actor_name: str | None = Field(default=None, max_length=200)
    make_current: bool = Field(
        default=True,
        description="false: the new version joins the history; the current poster stays.",
    )


class PosterUrls(BaseModel):
    """The three WebP sizes of one poster."""

    webp_sm: str
    webp_md: str
    webp_lg: str


class PosterFrames(BaseModel):
    """Accelerated and standard URLs, as ``actorsData.json`` records them."""

    accelerated: PosterUrls
    standard: PosterUrls


class DraftVersion(BaseModel):
    """Which version a draft (``make_current: false``) became."""

    version: int
    is_current: bool


class RegenerateResponse(BaseModel):
    """The seed's response once the poster is saved (``poster`` only for a draft)."""

    success: bool
    actor_id: str
    actor_name: str
    poster_frames: PosterFrames
    message: str
    poster: DraftVersion | None = None


class PosterJobAccepted(BaseModel):
    """A poster job was queued (or an identical one was already under way)."""

    job_id: int
    kind: str
    status: str
    actor_id: int | None = None
    job_url: str
    events_url: str


class PosterVersionOut(BaseModel):
    """One version in an actor's poster history."""

    model_config = ConfigDict(extra="allow")

    version: int
    is_current: bool
    created_at: str | None
    job_id: int | None
    seed: int | None
    provider: str | None
    model: str | None
    placeholder: bool
    params: dict[str, Any]
    poster_frames: PosterFrames | None
    sizes: dict[str, dict[str, int]]


class PosterHistory(BaseModel):
    """Every poster version of an actor, newest first."""

    actor_id: int
    items: list[PosterVersionOut]


class BatchFilter(BaseModel):
    """The actors list's filters."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(None, max_length=TEXT_MAX)
    type: str | None = Field(None, max_length=NAME_MAX)
    sex: str | None = Field(None, max_length=NAME_MAX)
    has_lora: bool | None = None
    has_poster: bool | None = None
    owner: RowIdField | None = None


class BatchBody(PosterOverrides):
    """``actor_ids`` or ``filter`` (not both), plus optional parameter overrides."""

    actor_ids: list[RowIdField] | None = Field(default=None, min_length=1, max_length=use.MAX_BATCH)
    filter: BatchFilter | None = None


def _accepted(job: JobView, actor_id: int | None, response: Response) -> dict[str, Any]:
    job_url = f"/api/jobs/{job.id}"
    response.headers["Location"] = job_url
    return {
        "job_id": job.id,
        "kind": job.kind,
        "status": job.status,
        "actor_id": actor_id,
        "job_url": job_url,
        "events_url": f"{job_url}/events",
    }


@router.post(
    "/api/actors/{actor_id}/regenerate-poster-frame",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PosterJobAccepted | RegenerateResponse,
    responses={
        200: {"model": RegenerateResponse, "description": "Done within ``wait`` seconds."},
        504: {"description": "Not done within ``wait`` seconds; the job keeps running."},
    },
)
async def regenerate_poster_frame(
    actor_id: RowId,
    request: Request,
    response: Response,
    webhook: RequestedWebhook,
    body: RegenerateBody | None = None,
    wait: float | None = Query(
        None, ge=0, le=MAX_WAIT_SECONDS, description="Wait up to this many seconds."
    ),
) -> Any:
    """Queue a new poster version for the actor (202), or wait for it with ``?wait``."""
    body = body or RegenerateBody()
    services = container_of(request)
    overrides = PosterOverrides.model_validate(
        body.model_dump(exclude={"actor_name", "make_current"})
    )
    job = await use.request_poster(
        services,
        actor_id,
        overrides,
        actor_name=body.actor_name,
        make_current=body.make_current,
        webhook_url=webhook,
    )
    accepted = _accepted(job, actor_id, response)
    if wait is None:
        return accepted
    done = await wait_for_job(services.queue, job.id, wait)
    if done is None:
        return JSONResponse(
            {"detail": f"the poster job {job.id} is still running", **accepted},
            status_code=status.HTTP_504_GATEWAY_TIMEOUT,
            headers={"Location": accepted["job_url"]},
        )
    if done.status != "completed":
        return JSONResponse(
            {
                "detail": done.error or f"the poster job ended {done.status}",
                "error": "JobFailed",
                **accepted,
                "status": done.status,
            },
            status_code=status.HTTP_502_BAD_GATEWAY,
        )
    return JSONResponse(use.seed_shape(done.result), status_code=status.HTTP_200_OK)


@router.get("/api/actors/{actor_id}/poster-frames", response_model=PosterHistory)
async def poster_history(actor_id: RowId, request: Request) -> dict[str, Any]:
    """The actor's poster versions, newest first, with URLs, parameters and provenance."""
    items = await use.history(container_of(request), actor_id)
    return {"actor_id": actor_id, "items": items}


@router.post(
    "/api/actors/{actor_id}/poster-frames/{version}/make-current",
    response_model=PosterVersionOut,
)
async def make_current(actor_id: RowId, version: RowId, request: Request) -> dict[str, Any]:
    """Make an earlier version the actor's poster again (404 for an unknown version)."""
    return await use.make_current(container_of(request), actor_id, version)


class PosterOptions(BaseModel):
    """What the regenerate dialog offers, and the workflow's own defaults."""

    style_loras: list[str]
    sizes: list[list[int]]  # [width, height] pairs
    defaults: dict[str, Any]


@router.get("/api/poster-frames/options", response_model=PosterOptions)
async def poster_options(request: Request) -> dict[str, Any]:
    """The configured style LoRAs (``CASTSMITH_POSTER_STYLE_LORAS``), the sizes the
    dialog offers, and what a poster is drawn with when nothing is named."""
    return poster_choices(container_of(request).settings.style_lora_choices)


@router.get(
    "/api/actors/{actor_id}/poster-defaults",
    response_model=PosterDefaults,
    response_model_exclude_none=True,
)
async def poster_defaults(actor_id: RowId, request: Request) -> dict[str, Any]:
    """The poster parameters the actor remembers (empty: the workflow's defaults)."""
    return await get_defaults(container_of(request), actor_id)


@router.put(
    "/api/actors/{actor_id}/poster-defaults",
    response_model=PosterDefaults,
    response_model_exclude_none=True,
)
async def set_poster_defaults(
    actor_id: RowId, body: PosterDefaults, request: Request
) -> dict[str, Any]:
    """Remember poster parameters for the actor (replacing earlier ones); its later
    posters use them for every field a request leaves out. Bad values are a 422."""
    return await save_defaults(container_of(request), actor_id, body)


@router.post(
    "/api/poster-frames/regenerate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PosterJobAccepted,
)
async def regenerate_many(
    body: BatchBody, request: Request, response: Response, webhook: RequestedWebhook
) -> Any:
    """One parent job with a child poster job per actor; follow it at ``job_url``."""
    overrides = PosterOverrides.model_validate(body.model_dump(exclude={"actor_ids", "filter"}))
    filters = None
    if body.filter is not None:
        given = body.filter
        filters = ActorFilters(
            q=given.q or None,
            actor_type=given.type.lower() if given.type else None,
            sex=given.sex.lower() if given.sex else None,
            has_lora=given.has_lora,
            has_poster=given.has_poster,
            owner_id=given.owner,
        )
    job = await use.request_batch(
        container_of(request),
        overrides,
        actor_ids=body.actor_ids,
        filters=filters,
        webhook_url=webhook,
    )
    return _accepted(job, None, response)
