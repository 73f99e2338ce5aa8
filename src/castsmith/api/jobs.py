"""REST and server-sent-event routes for jobs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from castsmith.api.schemas.common import (
    MAX_ROW_ID,
    STRICT_ID,
    RowId,
    RowIdQuery,
    UtcDateTime,
    parse_row_id,
)
from castsmith.api.webhook_requests import RequestedWebhook
from castsmith.auth.scope import container_of
from castsmith.domain import access
from castsmith.domain.access import Principal
from castsmith.domain.errors import Forbidden, NotFound, ValidationError
from castsmith.domain.jobs import IDEMPOTENCY_KEY_MAX, PRIORITY_MAX, PRIORITY_MIN, is_terminal
from castsmith.jobs.diagnostic import SLEEP_KIND
from castsmith.jobs.events import EventHub, follow
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.types import EventView, JobSpec, JobView, RunView

router = APIRouter(prefix="/api", tags=["jobs"])

KEEPALIVE_SECONDS = 15.0
AfterId = Annotated[
    int | None,
    Query(ge=0, le=MAX_ROW_ID, description="Replay events after this id."),
    STRICT_ID,
]


class JobOut(BaseModel):
    """A job as the API shows it."""

    id: int
    kind: str
    queue: str
    status: str
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    error_log: list[dict[str, Any]]
    progress: float
    progress_message: str | None
    attempts: int
    max_attempts: int
    priority: int
    timeout_seconds: float | None
    provider: str | None
    worker_id: str | None
    run_after: UtcDateTime | None
    idempotency_key: str | None
    cancel_requested: bool
    parent_id: int | None
    owner_id: int | None
    label: str | None
    created_at: UtcDateTime | None
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    updated_at: UtcDateTime | None

    @classmethod
    def of(cls, job: JobView) -> JobOut:
        """From the engine's view."""
        fields = set(cls.model_fields)
        return cls(**{k: v for k, v in vars(job).items() if k in fields})


class RunOut(BaseModel):
    """One attempt at a job."""

    id: int
    attempt: int
    worker_id: str
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    outcome: str
    error: str | None

    @classmethod
    def of(cls, run: RunView) -> RunOut:
        """From the engine's view."""
        fields = set(cls.model_fields)
        return cls(**{k: v for k, v in vars(run).items() if k in fields})


class JobDetailOut(JobOut):
    """A job with its attempts."""

    runs: list[RunOut]


class JobPage(BaseModel):
    """One page of jobs; pass ``next_cursor`` as ``?cursor=`` for the next."""

    items: list[JobOut]
    next_cursor: str | None


class EnqueueIn(BaseModel):
    """A job to enqueue: admins any registered kind, other users the diagnostic kind."""

    kind: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: int = Field(
        default=0,
        ge=PRIORITY_MIN,
        le=PRIORITY_MAX,
        strict=True,
        description="Higher runs first; only an admin may set it.",
    )
    run_after: datetime | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    timeout_seconds: float | None = Field(default=None, gt=0)
    provider: str | None = Field(default=None, max_length=40)
    queue: str = Field(default="default", min_length=1, max_length=50)
    idempotency_key: str | None = Field(default=None, max_length=IDEMPOTENCY_KEY_MAX)


def _queue(request: Request) -> JobQueue:
    queue: JobQueue = container_of(request).queue
    return queue


def _hub(request: Request) -> EventHub:
    hub: EventHub | None = getattr(request.app.state, "event_hub", None)
    if hub is None:
        hub = EventHub(_queue(request))
        request.app.state.event_hub = hub
    hub.start()
    return hub


def _caller(request: Request) -> Principal:
    return container_of(request).caller


async def _owned(request: Request, job_id: int) -> JobView:
    """Job ``job_id`` if the caller may see it; otherwise 404, as for an unknown id."""
    job = await asyncio.to_thread(_queue(request).get, job_id)
    if not access.may_access(_caller(request), job.owner_id):
        raise NotFound(f"job {job_id} not found")
    return job


async def _detail(queue: JobQueue, job_id: int, job: JobView | None = None) -> JobDetailOut:
    if job is None:
        job = await asyncio.to_thread(queue.get, job_id)
    runs = await asyncio.to_thread(queue.runs, job_id)
    return JobDetailOut(**JobOut.of(job).model_dump(), runs=[RunOut.of(r) for r in runs])


@router.get("/jobs", response_model=JobPage)
async def list_jobs(
    request: Request,
    status: str | None = None,
    kind: str | None = None,
    parent_id: RowIdQuery = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> JobPage:
    """Jobs, newest first, with optional filters and cursor pagination."""
    items, next_cursor = await asyncio.to_thread(
        _queue(request).list_jobs,
        _caller(request),
        status=status,
        kind=kind,
        parent_id=parent_id,
        cursor=cursor,
        limit=limit,
    )
    return JobPage(items=[JobOut.of(j) for j in items], next_cursor=next_cursor)


@router.post("/jobs", response_model=JobDetailOut, status_code=201)
async def enqueue_job(request: Request, body: EnqueueIn, webhook: RequestedWebhook) -> JobDetailOut:
    """Enqueue a job of a registered kind (any kind for admins, else the diagnostic one).

    Feature jobs are queued by their own routes, which check the caller may touch what
    the job names; this route does not know what a payload names, so it leaves them to
    admins.
    """
    queue = _queue(request)
    if queue.registry is not None:
        queue.registry.require(body.kind)
    caller = _caller(request)
    is_admin = caller.is_admin
    if not is_admin and body.kind != SLEEP_KIND:
        raise Forbidden(f"only an admin may queue {body.kind!r} jobs here; use its own route")
    if not is_admin and body.priority != 0:
        raise ValidationError("priority: only an admin can set a job's priority", "priority")
    spec = JobSpec(**body.model_dump(), webhook_url=webhook, owner_id=caller.user_id)
    views = await asyncio.to_thread(queue.enqueue_many, [spec])
    return await _detail(queue, views[0].id)


@router.get("/jobs/{job_id}", response_model=JobDetailOut)
async def get_job(request: Request, job_id: RowId) -> JobDetailOut:
    """One job with its runs."""
    return await _detail(_queue(request), job_id, await _owned(request, job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobDetailOut)
async def cancel_job(request: Request, job_id: RowId) -> JobDetailOut:
    """Cancel a job (and its unfinished children)."""
    await _owned(request, job_id)
    queue = _queue(request)
    await asyncio.to_thread(queue.cancel, job_id)
    return await _detail(queue, job_id)


@router.post("/jobs/{job_id}/retry", response_model=JobDetailOut)
async def retry_job(request: Request, job_id: RowId) -> JobDetailOut:
    """Queue a failed or cancelled job again."""
    await _owned(request, job_id)
    queue = _queue(request)
    # Answer with the job as the retry left it; a worker may already have claimed it.
    retried = await asyncio.to_thread(queue.retry, job_id)
    return await _detail(queue, job_id, retried)


def sse_message(event: EventView) -> str:
    """One event in the text/event-stream format."""
    data: dict[str, Any] = {
        "job_id": event.job_id,
        "kind": event.kind,
        "parent_id": event.parent_id,
        "status": event.status,
        "progress": event.progress,
        "message": event.message,
        "at": event.created_at.isoformat() if event.created_at else None,
    }
    if event.data:
        data["result"] = event.data.get("result")
        data["error"] = event.data.get("error")
    return f"id: {event.id}\nevent: {event.event}\ndata: {json.dumps(data, default=str)}\n\n"


def _last_event_id(header: str | None, query: int | None) -> int | None:
    if query is not None:
        return query
    if header is None or header == "":
        return None
    try:
        value = parse_row_id(header)
    except ValueError:
        value = None
    if not isinstance(value, int) or value > MAX_ROW_ID:
        raise ValidationError("Last-Event-ID must be an event id", field="Last-Event-ID")
    return value


async def _stream(source: AsyncIterator[EventView | None]) -> AsyncIterator[str]:
    yield ": connected\n\n"
    async for event in source:
        yield ": keep-alive\n\n" if event is None else sse_message(event)


def _sse(source: AsyncIterator[EventView | None]) -> StreamingResponse:
    return StreamingResponse(
        _stream(source),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/jobs/{job_id}/events", response_class=StreamingResponse)
async def job_events(
    request: Request,
    job_id: RowId,
    last_event_id: str | None = Header(None),
    after: AfterId = None,
) -> StreamingResponse:
    """Server-sent events of one job, in order, ending after its terminal status."""
    queue = _queue(request)
    job = await _owned(request, job_id)
    start = _last_event_id(last_event_id, after) or 0
    hub = _hub(request)
    if is_terminal(job.status):
        # The terminal event may have been pruned: replay what is left, then close.
        events = await asyncio.to_thread(queue.events_after, start, job_id=job_id, limit=10_000)

        async def replay() -> AsyncIterator[EventView | None]:
            for event in events:
                yield event

        return _sse(replay())
    return _sse(follow(hub, start, job_id=job_id, idle_timeout=KEEPALIVE_SECONDS))


@router.get("/events", response_class=StreamingResponse)
async def all_events(
    request: Request,
    kind: str | None = None,
    parent_id: RowIdQuery = None,
    last_event_id: str | None = Header(None),
    after: AfterId = None,
) -> StreamingResponse:
    """Server-sent events of all jobs (optionally one kind or one parent's children).

    Without ``Last-Event-ID`` (or ``?after=``) the stream starts with new events.
    """
    hub = _hub(request)
    start = _last_event_id(last_event_id, after)
    if start is None:
        start = await asyncio.to_thread(hub.latest_id)
    source = follow(hub, start, kind=kind, parent_id=parent_id, idle_timeout=KEEPALIVE_SECONDS)
    return _sse(_owned_events(_queue(request), _caller(request), source))


def _owned_events(
    queue: JobQueue, caller: Principal, source: AsyncIterator[EventView | None]
) -> AsyncIterator[EventView | None]:
    """Only the events of ``caller``'s own jobs (all of them for admins)."""
    scope = access.owner_scope(caller)
    if scope is None:
        return source
    allowed: dict[int, bool] = {}

    def owned(job_id: int) -> bool:
        try:
            return queue.get(job_id).owner_id == scope
        except NotFound:
            return False

    async def filtered() -> AsyncIterator[EventView | None]:
        async for event in source:
            if event is not None:
                if event.job_id not in allowed:
                    allowed[event.job_id] = await asyncio.to_thread(owned, event.job_id)
                if not allowed[event.job_id]:
                    continue
            yield event

    return filtered()


@asynccontextmanager
async def app_worker(app: FastAPI, container: Any, run_worker: bool) -> AsyncIterator[None]:
    """For the app's lifetime: an in-process worker when asked, and the event hub."""
    from castsmith.jobs.runner import make_worker

    worker = None
    task: asyncio.Task[None] | None = None
    if run_worker:
        worker = make_worker(container.queue, container.registry, container.settings, container)
        task = asyncio.create_task(worker.run(), name="castsmith-worker")
        app.state.worker = worker
    try:
        yield
    finally:
        if worker is not None and task is not None:
            worker.stop()
            await task
        hub: EventHub | None = getattr(app.state, "event_hub", None)
        if hub is not None:
            await hub.stop()
