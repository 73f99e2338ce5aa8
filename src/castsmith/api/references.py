"""Character reference routes (seed 004) and video job assets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, StrictInt

from castsmith.api.headers import attachment, file_headers
from castsmith.api.schemas.common import MAX_ROW_ID, NAME_MAX, STRICT_ID, RowIdField
from castsmith.api.webhook_requests import RequestedWebhook
from castsmith.auth.scope import container_of
from castsmith.domain.errors import NotFound, ValidationError
from castsmith.imaging.served import served_type
from castsmith.jobs.waiting import wait_for_job
from castsmith.pipelines import references as refs
from castsmith.pipelines.references import video as video_jobs

router = APIRouter(tags=["character references"])
DEFAULT_WAIT = 120.0
# What the OpenAPI promises a reference id looks like (generated ids are UUIDs); the
# server's own check (a safe key segment) is looser, and an unknown id is a 404.
REFERENCE_ID_PATTERN = "^[A-Za-z0-9_-]{1,128}$"


class GenerateReferenceBody(BaseModel):
    """The seed's request body."""

    character_description: str = Field(max_length=2000)
    num_images: StrictInt = 4
    aspect_ratio: str = Field("1:1", max_length=20)
    seed: StrictInt | None = Field(default=None, ge=0)
    actor_id: RowIdField | None = Field(
        default=None, description="The actor the references are made for (optional)."
    )


class CharacterReferenceImage(BaseModel):
    """The seed's image shape."""

    id: str
    path: str
    base64: str
    cloud_url: str | None = None


class GenerateReferenceResponse(BaseModel):
    """The generated images, and the job that made them."""

    images: list[CharacterReferenceImage]
    job_id: int


class ReferenceUrl(BaseModel):
    """The seed's lookup answer."""

    image_id: str
    image_url: str
    storage_backend: str
    expires_in_seconds: int
    cloud_path: str


class ReferenceItem(BaseModel):
    """A reference in listings."""

    id: str
    description: str
    aspect_ratio: str
    cloud_path: str
    image_url: str
    video_job_id: str | None
    source_reference_id: str | None
    actor_id: int | None = None
    thumb_url: str | None = Field(None, description="A small WebP of the image, for galleries.")


class ReferenceList(BaseModel):
    items: list[ReferenceItem]


class AttachBody(BaseModel):
    image_ids: list[Annotated[str, Field(max_length=NAME_MAX)]] = Field(
        min_length=1, max_length=100
    )


class VideoJobIn(BaseModel):
    """A video job to create; leave ``id`` out for a fresh random one."""

    id: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)


class VideoJobOut(BaseModel):
    """A video job: its id and owner."""

    id: str
    owner_id: int | None


class JobAssetOut(BaseModel):
    path: str
    key: str
    size: int
    url: str


class JobAssetList(BaseModel):
    job_id: str
    items: list[JobAssetOut]


@router.post(
    "/api/mv/generate_character_reference",
    response_model=GenerateReferenceResponse,
    responses={202: {"description": "Still generating; poll the job."}},
)
async def generate_character_reference(
    body: GenerateReferenceBody,
    request: Request,
    webhook: RequestedWebhook,
    wait: float = Query(DEFAULT_WAIT, ge=0, le=600, description="Seconds to wait for the images."),
) -> Any:
    """Generate 1 to 4 reference images from a description (the seed's route)."""
    services = container_of(request)
    spec = refs.ReferenceRequest(
        description=body.character_description,
        num_images=body.num_images,
        aspect_ratio=body.aspect_ratio,
        seed=body.seed,
        owner_id=services.caller.user_id,
        actor_id=body.actor_id,
    )
    if body.actor_id is not None:
        await refs.check_actor(services, body.actor_id)
    job = refs.enqueue_generate(services, spec, webhook_url=webhook)
    done = await wait_for_job(services.queue, job.id, wait)
    if done is None:
        return Response(
            content=f'{{"job_id": {job.id}, "status": "running", '
            f'"events_url": "/api/jobs/{job.id}/events"}}',
            status_code=202,
            media_type="application/json",
        )
    if done.status != "completed":
        raise ValidationError(done.error or f"the job ended {done.status}", "character_description")
    images = []
    for item in (done.result or {}).get("images", []):
        ref = await refs.find(services, item["id"])
        served = await refs.serve_url(services, ref)
        images.append(
            {
                "id": ref.id,
                "path": ref.key,
                "base64": await refs.image_base64(services, ref.key),
                "cloud_url": served.url,
            }
        )
    return {"images": images, "job_id": job.id}


@router.get(
    "/api/mv/get_character_reference/{image_id}",
    response_model=ReferenceUrl,
    responses={302: {"description": "With ?redirect=true: the image URL."}},
)
async def get_character_reference(
    image_id: Annotated[str, Path(json_schema_extra={"pattern": REFERENCE_ID_PATTERN})],
    request: Request,
    redirect: bool = False,
) -> Any:
    """The reference's URL (presigned on S3), or a 302 to it with ``?redirect=true``."""
    services = container_of(request)
    ref = await refs.find(services, image_id)
    served = await refs.serve_url(services, ref)
    if redirect:
        return RedirectResponse(served.url, status_code=302)
    return {
        "image_id": ref.id,
        "image_url": served.url,
        "storage_backend": served.backend,
        "expires_in_seconds": served.expires_in,
        "cloud_path": ref.key,
    }


@router.get("/api/mv/character_reference_file/{image_id}", include_in_schema=False)
async def character_reference_file(
    image_id: str, request: Request, expires: int = 0, sig: str = ""
) -> Response:
    """The local fallback copy, behind a signed, expiring URL (public, like ``/files/``)."""
    services = container_of(request)
    ref = await refs.find(services, image_id, signed=True)
    try:
        path = refs.verify_local_copy(services, ref, expires, sig)
    except ValidationError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=403)
    with path.open("rb") as handle:
        served = served_type(handle.read(64), ref.content_type)
    headers = file_headers(served, path.name)
    return FileResponse(path, media_type=served.content_type, headers=headers)


@router.get("/api/character-references", response_model=ReferenceList)
async def list_character_references(
    request: Request,
    limit: int = Query(50, ge=1, le=200),
    actor_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ROW_ID, description="Only the references made for this actor."),
        STRICT_ID,
    ] = None,
) -> dict[str, Any]:
    """Standalone references, newest first, each with a URL."""
    services = container_of(request)
    rows = await refs.list_references(services, actor_id=actor_id, limit=limit)
    return {"items": await refs.describe(services, rows)}


@router.post(
    "/api/video-jobs",
    response_model=VideoJobOut,
    status_code=201,
    responses={200: {"model": VideoJobOut, "description": "The caller's existing job."}},
)
async def create_video_job(body: VideoJobIn, request: Request, response: Response) -> Any:
    """Create a video job owned by the caller before storing files or references in it.

    Creating one of your own jobs again answers 200 with it; an id another user took
    answers 409.
    """
    made = await video_jobs.create_video_job(container_of(request), body.id)
    if not made.created:
        response.status_code = 200
    return {"id": made.id, "owner_id": made.owner_id}


@router.post("/api/video-jobs/{job_id}/character-references", response_model=ReferenceList)
async def attach_references(job_id: str, body: AttachBody, request: Request) -> dict[str, Any]:
    """Copy references into the video job's folder (idempotent per image)."""
    services = container_of(request)
    rows = await video_jobs.attach_to_video_job(services, job_id, body.image_ids)
    return {"items": await refs.describe(services, rows)}


@router.get("/api/video-jobs/{job_id}/character-references", response_model=ReferenceList)
async def job_references(job_id: str, request: Request) -> dict[str, Any]:
    """A video job's references with presigned URLs, in bulk."""
    services = container_of(request)
    await video_jobs.open_video_job(services, job_id, create=False)
    rows = await refs.list_references(services, video_job_id=job_id, limit=1000)
    return {"items": await refs.describe(services, rows)}


@router.put(
    "/api/video-jobs/{job_id}/assets/{path:path}", response_model=JobAssetOut, status_code=201
)
async def persist_job_asset(job_id: str, path: str, file: UploadFile, request: Request) -> Any:
    """Persist one file of a video job (never replacing an existing one)."""
    services = container_of(request)
    # The body limit already bounds the file; one byte more tells "too large" apart.
    data = await file.read(services.settings.max_upload_bytes + 1)
    asset = await video_jobs.persist_asset(
        services, job_id, path, data, file.content_type or "application/octet-stream"
    )
    return asset.__dict__


@router.get("/api/video-jobs/{job_id}/assets", response_model=JobAssetList)
async def list_job_assets(job_id: str, request: Request) -> dict[str, Any]:
    """Every file of a video job with a URL."""
    items = await video_jobs.list_assets(container_of(request), job_id)
    return {"job_id": job_id, "items": [item.__dict__ for item in items]}


@router.get(
    "/api/video-jobs/{job_id}/assets.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "A zip file."}},
)
async def download_job_assets(job_id: str, request: Request) -> Response:
    """All of a video job's files as one zip."""
    services = container_of(request)
    items = await video_jobs.list_assets(services, job_id)
    if not items:
        raise NotFound(f"video job '{job_id}' has no stored files")
    data = await video_jobs.download_zip(services, job_id)
    return Response(
        data,
        media_type="application/zip",
        headers={"content-disposition": attachment(f"{job_id}.zip")},
    )
