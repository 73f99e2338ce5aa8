"""The actors REST API: CRUD, soft delete/restore/purge, base images and manifests."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status

from castsmith.api.schemas.actors import (
    ActorCreate,
    ActorList,
    ActorOut,
    ActorPatch,
    FromUrl,
    GenerateBaseImage,
    JobAccepted,
    Manifest,
)
from castsmith.api.schemas.common import MAX_ROW_ID, STRICT_ID, TEXT_MAX, RowId
from castsmith.api.webhook_requests import RequestedWebhook
from castsmith.auth.scope import container_of
from castsmith.db.repositories.actors import ActorFilters
from castsmith.domain.errors import ValidationError
from castsmith.pipelines import actors as use
from castsmith.pipelines.actors.manifests import actor_manifest

router = APIRouter(prefix="/api/actors", tags=["actors"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ActorOut)
async def create_actor(body: ActorCreate, request: Request) -> dict[str, Any]:
    """Create an actor; 422 names the bad field, 409 when the name is taken."""
    return await use.create_actor(container_of(request), body.fields())


@router.get("", response_model=ActorList)
async def list_actors(
    request: Request,
    q: str | None = Query(
        None, max_length=TEXT_MAX, description="Text searched in name and description."
    ),
    actor_type: str | None = Query(None, alias="type", description="Actor type, e.g. person."),
    sex: str | None = None,
    has_lora: bool | None = None,
    has_poster: bool | None = None,
    owner: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="Owner user id."), STRICT_ID
    ] = None,
    deleted: bool = Query(False, description="List soft-deleted actors instead."),
    cursor: str | None = Query(None, description="next_cursor of the previous page."),
    limit: int | None = Query(None, description="Page size, 1-200 (default 50)."),
) -> dict[str, Any]:
    """A page of actors in creation order: ``{items, next_cursor, total}``."""
    filters = ActorFilters(
        q=q or None,
        actor_type=actor_type.lower() if actor_type else None,
        sex=sex.lower() if sex else None,
        has_lora=has_lora,
        has_poster=has_poster,
        owner_id=owner,
        deleted=deleted,
    )
    return await use.list_actors(container_of(request), filters, cursor=cursor, limit=limit)


@router.get("/{actor_id}", response_model=ActorOut)
async def get_actor(actor_id: RowId, request: Request) -> dict[str, Any]:
    """One actor; 404 when unknown or deleted."""
    return await use.get_actor(container_of(request), actor_id)


@router.patch("/{actor_id}", response_model=ActorOut)
async def patch_actor(actor_id: RowId, body: ActorPatch, request: Request) -> dict[str, Any]:
    """Change the fields sent; others stay as they are."""
    return await use.update_actor(container_of(request), actor_id, body.fields())


@router.delete("/{actor_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_actor(
    actor_id: RowId,
    request: Request,
    purge: bool = Query(False, description="Remove the actor and its files for good."),
) -> Response:
    """Soft-delete (restorable), or with ``?purge=true`` remove rows and objects."""
    if purge:
        await use.purge_actor(container_of(request), actor_id)
    else:
        await use.delete_actor(container_of(request), actor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{actor_id}/restore", response_model=ActorOut)
async def restore_actor(actor_id: RowId, request: Request) -> dict[str, Any]:
    """Bring back a soft-deleted actor."""
    return await use.restore_actor(container_of(request), actor_id)


@router.put("/{actor_id}/base-image", response_model=ActorOut)
async def upload_base_image(
    actor_id: RowId, request: Request, file: UploadFile = File(...)
) -> dict[str, Any]:
    """Upload the base image (any JPEG/PNG/WebP/GIF; stored as JPEG)."""
    services = container_of(request)
    limit = services.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(f"file: the upload is larger than {limit} bytes", "file")
    return await use.set_base_image(services, actor_id, data, field="file")


@router.post("/{actor_id}/base-image/from-url", response_model=ActorOut)
async def base_image_from_url(actor_id: RowId, body: FromUrl, request: Request) -> dict[str, Any]:
    """Download the base image from a public http(s) URL."""
    return await use.base_image_from_url(container_of(request), actor_id, body.url)


@router.post(
    "/{actor_id}/base-image/generate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
)
async def generate_base_image(
    actor_id: RowId,
    request: Request,
    webhook: RequestedWebhook,
    body: GenerateBaseImage | None = None,
) -> dict[str, Any]:
    """Queue an ``actor.base_image`` job; follow it at ``/api/jobs/{job_id}``."""
    body = body or GenerateBaseImage()
    return await use.enqueue_base_image(
        container_of(request), actor_id, prompt=body.prompt, seed=body.seed, webhook_url=webhook
    )


@router.get("/{actor_id}/manifest", response_model=Manifest)
async def get_manifest(actor_id: RowId, request: Request) -> dict[str, Any]:
    """The actor's training-data manifest, in the per-actor manifest file shape."""
    return await actor_manifest(container_of(request), actor_id)
