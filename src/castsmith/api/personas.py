"""The persona tasks REST API (seed 003): create, list, show, retry the failed personas.

Request models only check types; counts, locales and constraints are checked by
:mod:`castsmith.domain.personas`, so a bad value comes back as 422 with ``field``
naming it. Results carry the seed's ``base_image_url`` and ``image_1_url`` ..
``image_4_url`` beside castsmith's ``images`` list.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from castsmith.api.webhook_requests import RequestedWebhook
from castsmith.auth.scope import container_of
from castsmith.pipelines import personas as use

router = APIRouter(prefix="/api/persona-tasks", tags=["persona tasks"])


class PersonaTaskCreate(BaseModel):
    """``POST /api/persona-tasks``."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(description="How many personas, 1-100.", examples=[10])
    locale: str = Field(
        "en_US", max_length=20, description="Locale of names and places.", examples=["de_DE"]
    )
    constraints: dict[str, Any] | None = Field(
        None,
        description="Optional: gender, age_min, age_max, occupation, location, ethnicity, "
        "style, nationality.",
        examples=[{"gender": "female", "age_min": 25, "age_max": 40}],
    )


class ErrorLogEntry(BaseModel):
    """One failed persona (``persona``/``result_id`` are null when the data step failed)."""

    persona: str | None
    result_id: int | None
    error: str


class PersonaCounts(BaseModel):
    """How many personas of the task are in each status."""

    pending: int
    generating: int
    completed: int
    failed: int


class PersonaTaskOut(BaseModel):
    """A persona task without its personas."""

    task_id: str
    status: str = Field(
        description="pending, generating-data, data-generated, generating-images, "
        "completed, completed_with_errors or failed"
    )
    count: int
    locale: str
    constraints: dict[str, Any]
    error_log: list[ErrorLogEntry]
    job_id: int | None
    personas: PersonaCounts
    created_at: str | None
    updated_at: str | None


class PersonaImageOut(BaseModel):
    """One stored image of a persona (``base``, ``image_0`` .. ``image_3``)."""

    name: str
    asset_id: int
    key: str
    url: str
    thumb_url: str | None = Field(None, description="A small WebP of the image, for grids.")
    content_type: str
    width: int | None
    height: int | None
    size_bytes: int


class PersonaChecks(BaseModel):
    """A persona's split images against its base selfie (``pending`` until checked)."""

    flagged: bool
    verdict: str
    reasons: list[str]
    distances: list[float | None]


class PersonaResultOut(BaseModel):
    """One persona: its data, status, error and images."""

    result_id: int
    firstname: str
    lastname: str
    age: int | None
    gender: str | None
    location: str | None
    occupation: str | None
    bio: str | None
    image_prompt: str | None
    status: str
    error: str | None
    base_image_url: str | None
    image_1_url: str | None
    image_2_url: str | None
    image_3_url: str | None
    image_4_url: str | None
    images: list[PersonaImageOut]
    checks: PersonaChecks | None = None


class PersonaTaskDetail(PersonaTaskOut):
    """A task with its personas."""

    results: list[PersonaResultOut]
    flagged: list[int] = Field(
        default_factory=list, description="Personas whose images do not match their selfie."
    )


class PersonaTaskList(BaseModel):
    """A page of tasks, newest first."""

    items: list[PersonaTaskOut]
    next_cursor: str | None


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=PersonaTaskOut)
async def create_task(
    body: PersonaTaskCreate, request: Request, webhook: RequestedWebhook
) -> dict[str, Any]:
    """Start a task; it runs as a job (``job_id``). 422 names a bad field."""
    services = container_of(request)
    return await use.create_task(
        services,
        count=body.count,
        locale=body.locale,
        constraints=body.constraints,
        owner_id=services.caller.user_id,
        webhook_url=webhook,
    )


@router.get("", response_model=PersonaTaskList)
async def list_tasks(
    request: Request,
    status_filter: str | None = Query(None, alias="status", description="Only this status."),
    cursor: str | None = Query(None, description="next_cursor of the previous page."),
    limit: int = Query(50, description="Page size, 1-200."),
) -> dict[str, Any]:
    """Tasks newest first: ``{items, next_cursor}``."""
    return await use.list_tasks(
        container_of(request), status=status_filter, cursor=cursor, limit=limit
    )


@router.get("/{task_id}", response_model=PersonaTaskDetail)
async def get_task(task_id: str, request: Request) -> dict[str, Any]:
    """A task with every persona, its status, error and five image URLs; 404 if unknown."""
    return await use.get_task(container_of(request), task_id)


@router.post(
    "/{task_id}/retry-failed", status_code=status.HTTP_202_ACCEPTED, response_model=PersonaTaskOut
)
async def retry_failed(task_id: str, request: Request, webhook: RequestedWebhook) -> dict[str, Any]:
    """Re-run only the failed personas; 409 unless the task ended with failures."""
    return await use.retry_failed(container_of(request), task_id, webhook_url=webhook)


@router.post(
    "/{task_id}/personas/{result_id}/regenerate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PersonaTaskOut,
)
async def regenerate_persona(
    task_id: str, result_id: int, request: Request, webhook: RequestedWebhook
) -> dict[str, Any]:
    """Make one persona's images again (say, one flagged as not matching its selfie);
    409 while the task runs, 404 for a persona of another task."""
    return await use.regenerate_persona(
        container_of(request), task_id, result_id, webhook_url=webhook
    )
