"""The server-rendered pages. Each renders its first view on the server (fast first
paint, works before any script runs); the page's script then talks to the JSON API."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from pydantic import BeforeValidator

from castsmith.auth.scope import container_of
from castsmith.bootstrap import Container
from castsmith.db.repositories.actors import ActorRepository
from castsmith.domain.actors import decode_cursor
from castsmith.domain.errors import CastsmithError
from castsmith.domain.ids import MAX_ROW_ID, parse_row_id
from castsmith.domain.jobs import ACTIVE_STATUSES
from castsmith.pipelines import actors as actor_use
from castsmith.pipelines.costs import job_costs_sync
from castsmith.web.library import PAGE_SIZE, LibraryQuery, placeholder_flags, previous_cursor
from castsmith.web.live import job_tree, latest_event, running_training
from castsmith.web.lora_panel import lora_panel_data

log = logging.getLogger("castsmith.web")

router = APIRouter(include_in_schema=False)
# As strict as the API's ids: ``/actors/8.0`` is a 422, not actor 8.
ActorId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID), BeforeValidator(parse_row_id)]
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _with_cursor(params: dict[str, str], cursor: str | None) -> str:
    """A library query string: the filters plus ``cursor`` (none for the first page)."""
    values = dict(params)
    if cursor:
        values["cursor"] = cursor
    return urlencode(values)


def _soft_breaks(name: str) -> Markup:
    """``name`` with line-break chances after each ``_``: actor names are one long
    "word" that would otherwise break mid-word (or not at all) on a phone."""
    return Markup("_<wbr>").join(escape(part) for part in str(name).split("_"))


templates.env.filters["with_cursor"] = _with_cursor
templates.env.filters["soft_breaks"] = _soft_breaks

ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4")
ACTOR_TYPES = ("person", "character", "creature", "other")
SEXES = ("female", "male", "other")
JOB_VIEWS = {
    "active": ("queued", "running", "waiting"),
    "failed": ("failed",),
    "all": (None,),
}


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context)


@router.get("/", response_class=HTMLResponse)
async def library(
    request: Request,
    q: str = "",
    actor_type: str = Query("", alias="type"),
    sex: str = "",
    has_lora: str = "",
    has_poster: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """The Actor Library: a page of cards, searchable and filtered, keyset-paginated."""
    services = container_of(request)
    query = LibraryQuery(q, actor_type, sex, has_lora, has_poster)
    filters = query.filters()
    page = await actor_use.list_actors(services, filters, cursor=cursor, limit=PAGE_SIZE)
    items = page["items"]
    ids = [item["id"] for item in items]

    def extra() -> tuple[dict[int, dict[str, bool]], tuple[bool, str | None]]:
        with services.sessions() as session:
            flags = placeholder_flags(session, ids)
            back: tuple[bool, str | None] = (False, None)
            if cursor and ids and decode_cursor(cursor) is not None:
                actors = ActorRepository(session, services.caller)
                back = previous_cursor(actors, filters, ids[0], PAGE_SIZE)
            return flags, back

    flags, (has_previous, prev_cursor) = await asyncio.to_thread(extra)
    for item in items:
        item["placeholder"] = flags.get(item["id"], {})
    return _page(
        request,
        "library.html",
        nav="library",
        items=items,
        total=page["total"],
        query=query,
        params=query.params(),
        next_cursor=page["next_cursor"],
        has_previous=has_previous,
        prev_cursor=prev_cursor,
        actor_types=ACTOR_TYPES,
        sexes=SEXES,
    )


@router.get("/actors/{actor_id}", response_class=HTMLResponse)
async def actor_page(request: Request, actor_id: ActorId) -> HTMLResponse:
    """One actor: base image, poster history, training data, LoRA settings, references."""
    services = container_of(request)
    actor = await actor_use.get_actor(services, actor_id)

    def flags() -> dict[str, bool]:
        with services.sessions() as session:
            return placeholder_flags(session, [actor_id]).get(actor_id, {})

    # The sections read at the same time, each on a connection of its own: the page
    # waits for the slowest of them, not for their sum.
    placeholder, posters, training, references, live, lora_panel = await asyncio.gather(
        asyncio.to_thread(flags),
        _optional(_poster_history(services, actor_id), []),
        _optional(_training(services, actor_id), None),
        _optional(_references(services, actor_id=actor_id), []),
        asyncio.to_thread(running_training, services.queue, services.caller, actor_id),
        _optional(lora_panel_data(services, actor_id), None),
    )
    actor["placeholder"] = placeholder
    return _page(
        request,
        "actor.html",
        lora_panel=lora_panel,
        nav="library",
        actor=actor,
        posters=posters,
        training=training,
        references=references,
        aspect_ratios=ASPECT_RATIOS,
        live=live,
        actor_types=ACTOR_TYPES,
        sexes=SEXES,
    )


async def _poster_history(services: Container, actor_id: int) -> list[dict[str, Any]]:
    from castsmith.pipelines import posters

    return await posters.history(services, actor_id)


async def _training(services: Container, actor_id: int) -> dict[str, Any]:
    from castsmith.pipelines.training import dataset as training_dataset

    return await training_dataset.training_data(services, actor_id)


async def _optional(coro: Any, default: Any) -> Any:
    """A section's server-side data, or ``default`` so the page still renders and the
    script fills the section in from the API."""
    try:
        return await coro
    except (CastsmithError, ImportError, AttributeError) as exc:
        log.warning("page section unavailable: %s", exc)
        return default


@router.get("/personas", response_class=HTMLResponse)
async def personas_page(request: Request) -> HTMLResponse:
    """Persona tasks: the form and the tasks with live status."""
    tasks = await _optional(_persona_tasks(container_of(request)), {"items": []})
    return _page(request, "personas.html", nav="personas", tasks=tasks["items"])


async def _persona_tasks(services: Container) -> dict[str, Any]:
    from castsmith.pipelines import personas

    return await personas.list_tasks(services, limit=50)


@router.get("/personas/{task_id}", response_class=HTMLResponse)
async def persona_task_page(request: Request, task_id: str) -> HTMLResponse:
    """One persona task: every persona's data and images, the error log, retry."""
    from castsmith.pipelines import personas

    services = container_of(request)
    task = await personas.get_task(services, task_id)
    tree = await asyncio.to_thread(job_tree, services.queue, services.caller, task.get("job_id"))
    return _page(request, "persona_task.html", nav="personas", task=task, live=tree)


@router.get("/references", response_class=HTMLResponse)
async def references_page(request: Request) -> HTMLResponse:
    """Character references: generate, gallery, copy a link, attach to a video job."""
    items = await _optional(_references(container_of(request)), [])
    return _page(
        request,
        "references.html",
        nav="references",
        references=items,
        aspect_ratios=ASPECT_RATIOS,
        description=request.query_params.get("description", "")[:2000],
    )


async def _references(services: Container, actor_id: int | None = None) -> list[dict[str, Any]]:
    from castsmith.pipelines import references, thumbnails

    rows = await references.list_references(services, actor_id=actor_id, limit=60)
    ids = [row.asset_id for row in rows if row.asset_id is not None]
    thumbs = await asyncio.to_thread(thumbnails.thumb_keys, services, ids)
    return [
        {
            "id": row.id,
            "description": row.description,
            "aspect_ratio": row.aspect_ratio,
            "video_job_id": row.video_job_id,
            "image_url": await services.urls.url_for(row.key),
            "thumb_url": (
                await thumbnails.thumb_url(services, row.asset_id, thumbs.get(row.asset_id))
                if row.asset_id is not None
                else None
            ),
        }
        for row in rows
    ]


@router.get("/jobs", response_class=HTMLResponse)
async def jobs_page(request: Request, view: str = "active") -> HTMLResponse:
    """Queued, running and failed jobs with live progress, cancel and retry."""
    services = container_of(request)
    queue = services.queue
    statuses = JOB_VIEWS.get(view, JOB_VIEWS["active"])

    def read() -> tuple[int, list[Any], dict[int, Any]]:
        # The replay point comes first: an event newer than it reaches the page live.
        after = latest_event(queue)
        found: dict[int, Any] = {}
        for status in statuses:
            items, _next = queue.list_jobs(services.caller, status=status, limit=100)
            found.update((job.id, job) for job in items)
        jobs = sorted(found.values(), key=lambda job: job.id, reverse=True)[:100]
        # What each job's provider calls cost (the ledger), shown beside it.
        costs = job_costs_sync(services, [job.id for job in jobs])
        return after, jobs, costs

    after, jobs, costs = await asyncio.to_thread(read)
    return _page(
        request,
        "jobs.html",
        nav="jobs",
        jobs=jobs,
        costs=costs,
        events_after=after,
        view=view if view in JOB_VIEWS else "active",
        active=ACTIVE_STATUSES,
    )
