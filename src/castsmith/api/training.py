"""The training data REST API: generate (all prompts or one), list, reject/restore, export.

The generate routes accept the bodies the older UI sent (actor id/name, base_image_url,
prompt, actor_type, actor_sex - all optional except ``prompt`` for a single image) and
answer 202 with the queued job; ``?wait=SECONDS`` holds the answer until the job ends
(200) or the time runs out (202).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

import pydantic
from fastapi import APIRouter, Body, File, Query, Request, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from castsmith.api.headers import attachment
from castsmith.api.schemas.common import NAME_MAX, TEXT_MAX, URL_MAX, RowId
from castsmith.api.webhook_requests import RequestedWebhook
from castsmith.auth.scope import container_of
from castsmith.domain.errors import ValidationError
from castsmith.jobs.types import JobView
from castsmith.jobs.waiting import wait_for_job
from castsmith.pipelines._checks import request_checks
from castsmith.pipelines.training import (
    GenerateOptions,
    dataset,
    enqueue_generate_all,
    enqueue_generate_one,
)
from castsmith.pipelines.training.curation import readiness_report
from castsmith.pipelines.training.upload import upload_training_images

router = APIRouter(tags=["training data"])
M = TypeVar("M", bound=BaseModel)

MAX_WAIT_SECONDS = 600.0


class GenerateAllBody(BaseModel):
    """Body of generate-all-prompts; every field is optional."""

    model_config = ConfigDict(extra="ignore")

    actor_id: str | int | None = None
    actor_name: str | None = Field(None, max_length=NAME_MAX)
    base_image_url: str | None = Field(None, max_length=URL_MAX)
    actor_type: str | None = Field(None, max_length=NAME_MAX)
    actor_sex: str | None = Field(None, max_length=NAME_MAX)
    provider: str | None = Field(None, max_length=NAME_MAX)
    seed: int | None = None
    auto_triage: bool | None = None

    def options(self) -> GenerateOptions:
        """The generation options the body carries."""
        return GenerateOptions(
            provider=self.provider or None,
            base_image_url=self.base_image_url or None,
            actor_type=self.actor_type.lower() if self.actor_type else None,
            actor_sex=self.actor_sex.lower() if self.actor_sex else None,
            seed=self.seed,
            auto_triage=self.auto_triage,
        )


class GenerateSingleBody(GenerateAllBody):
    """Body of generate-single: ``prompt`` is required."""

    prompt: str = Field(max_length=TEXT_MAX)
    prompt_id: str | None = Field(None, max_length=NAME_MAX)


def _parse(model: type[M], raw: Any) -> M:
    """Validate a body; the error names the first offending field."""
    try:
        return model.model_validate(raw if raw is not None else {})
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or "body"
        raise ValidationError(f"{field}: {first.get('msg', 'invalid value')}", field) from None


def job_json(job: JobView) -> dict[str, Any]:
    """A job as JSON (dates in ISO 8601)."""
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in asdict(job).items()
    }


async def _answer(
    request: Request, response: Response, actor_id: int, job: JobView, wait: float | None
) -> dict[str, Any]:
    if wait:
        queue = container_of(request).queue
        done = await wait_for_job(queue, job.id, min(wait, MAX_WAIT_SECONDS), max_poll=0.05)
        if done is not None:
            job = done
            response.status_code = status.HTTP_200_OK
        else:
            job = await asyncio.to_thread(queue.get, job.id)
    return {
        "job_id": job.id,
        "kind": job.kind,
        "status": job.status,
        "actor_id": actor_id,
        "result": job.result,
        "error": job.error,
        "job": job_json(job),
    }


WAIT = Query(None, ge=0, description="Seconds to wait for the job to end before answering.")


@router.post(
    "/api/actors/{actor_id}/training-data/generate-all-prompts",
    status_code=status.HTTP_202_ACCEPTED,
)
async def generate_all_prompts(
    actor_id: RowId,
    request: Request,
    response: Response,
    webhook: RequestedWebhook,
    body: dict[str, Any] | None = Body(None),
    wait: float | None = WAIT,
) -> dict[str, Any]:
    """Queue one training image per library prompt that has none yet (a parent job)."""
    parsed = _parse(GenerateAllBody, body)
    job = await enqueue_generate_all(
        container_of(request), actor_id, parsed.options(), webhook_url=webhook
    )
    return await _answer(request, response, actor_id, job, wait)


@router.post(
    "/api/actors/{actor_id}/training-data/generate-single",
    status_code=status.HTTP_202_ACCEPTED,
)
async def generate_single(
    actor_id: RowId,
    request: Request,
    response: Response,
    webhook: RequestedWebhook,
    body: dict[str, Any] | None = Body(None),
    wait: float | None = WAIT,
) -> dict[str, Any]:
    """Queue one training image with a custom prompt."""
    parsed = _parse(GenerateSingleBody, body)
    job = await enqueue_generate_one(
        container_of(request),
        actor_id,
        parsed.prompt,
        parsed.options(),
        prompt_id=parsed.prompt_id,
        webhook_url=webhook,
    )
    return await _answer(request, response, actor_id, job, wait)


@router.get("/api/actors/{actor_id}/training-data")
async def list_training_data(actor_id: RowId, request: Request) -> dict[str, Any]:
    """The actor's training images in the manifest shape, with statistics."""
    return await dataset.training_data(container_of(request), actor_id)


TRIAGE = Query(
    None,
    description="Reject images whose verdict is reject-suggested at once "
    "(default: the curation_auto_triage setting).",
)


@router.post("/api/actors/{actor_id}/training-data/upload", status_code=status.HTTP_201_CREATED)
async def upload_training_data(
    actor_id: RowId,
    request: Request,
    files: list[UploadFile] = File(...),
    auto_triage: bool | None = TRIAGE,
) -> dict[str, Any]:
    """Add your own photographs to the dataset (validated like base images, numbered and
    recorded like generated ones, provenance ``uploaded``); their check is queued."""
    services = container_of(request)
    limit = services.settings.max_upload_bytes
    read: list[tuple[str, bytes]] = []
    for upload in files:
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise ValidationError(
                f"files: {upload.filename or 'a file'} is larger than {limit} bytes", "files"
            )
        read.append((upload.filename or f"file {len(read) + 1}", data))
    return await upload_training_images(services, actor_id, read, auto_triage=auto_triage)


@router.get("/api/actors/{actor_id}/training-data/report")
async def training_data_report(actor_id: RowId, request: Request) -> dict[str, Any]:
    """The readiness report: usable images, identity spread, duplicates, blurred, and
    what to do before a LoRA training."""
    report = await readiness_report(container_of(request), actor_id)
    return {"actor_id": actor_id, **report.as_dict()}


@router.post("/api/actors/{actor_id}/training-data/check", status_code=status.HTTP_202_ACCEPTED)
async def check_training_data(
    actor_id: RowId,
    request: Request,
    response: Response,
    webhook: RequestedWebhook,
    wait: float | None = WAIT,
    again: bool = Query(False, description="Measure every image again, not only new ones."),
    auto_triage: bool | None = TRIAGE,
) -> dict[str, Any]:
    """Run the curation checks of the actor's base and training images (a job)."""
    services = container_of(request)
    await readiness_report(services, actor_id)  # NotFound for an unknown actor
    job = await request_checks(
        services, actor_id=actor_id, triage=auto_triage, again=again, webhook_url=webhook
    )
    if job is None:
        raise ValidationError("the check could not be queued; try again", "check")
    return await _answer(request, response, actor_id, job, wait)


@router.delete("/api/actors/{actor_id}/training-data/{item_id}")
async def reject_training_image(
    actor_id: RowId, item_id: RowId, request: Request
) -> dict[str, Any]:
    """Reject an image: it leaves the dataset and the export; the file is kept."""
    return await dataset.reject_item(container_of(request), actor_id, item_id)


@router.post("/api/actors/{actor_id}/training-data/{item_id}/restore")
async def restore_training_image(
    actor_id: RowId, item_id: RowId, request: Request
) -> dict[str, Any]:
    """Bring a rejected image back into the dataset."""
    return await dataset.restore_item(container_of(request), actor_id, item_id)


@router.get(
    "/api/actors/{actor_id}/training-data/export.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "A zip file."}},
)
async def export_training_data(actor_id: RowId, request: Request) -> StreamingResponse:
    """A zip of the non-rejected images with same-name ``.txt`` captions, streamed."""
    name, chunks = await dataset.export_zip(container_of(request), actor_id)
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={"content-disposition": attachment(name)},
    )


@router.get("/api/training-prompts")
async def training_prompts(actor_type: str | None = None, sex: str | None = None) -> dict[str, Any]:
    """The built-in training prompts, filtered by actor type and sex when given."""
    return dataset.prompt_listing(
        actor_type.lower() if actor_type else None, sex.lower() if sex else None
    )
