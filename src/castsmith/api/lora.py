"""The LoRA training REST API: train, list, show, cancel, make current, weights, grid, import.

``POST /api/actors/{actor_id}/lora-trainings`` answers 202 with the version and its
job; ``?wait=SECONDS`` holds the answer until the job ends (200) or the time runs out
(202). Refusals are 4xx naming the field: an unknown or unconfigured trainer
(``provider``), no trigger word, too few images (``dataset``), a file that is not
safetensors (``weights``). A dataset whose readiness report says not ready is a 409
(``field`` ``dataset``, the report under ``report``) unless the body has ``"force": true``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from castsmith.api.schemas.common import NAME_MAX, URL_MAX, RowId
from castsmith.api.training import _parse, job_json
from castsmith.api.webhook_requests import RequestedWebhook
from castsmith.auth.scope import container_of
from castsmith.domain.errors import ValidationError
from castsmith.jobs.waiting import wait_for_job
from castsmith.pipelines import lora as use
from castsmith.pipelines.lora.export import export_folder
from castsmith.pipelines.lora.importing import import_file, import_url

router = APIRouter(tags=["LoRA trainings"])
MAX_WAIT_SECONDS = 600.0
WAIT = Query(None, ge=0, description="Seconds to wait for the training to end before answering.")


class TrainBody(BaseModel):
    """Body of a training request; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    provider: str | None = Field(None, max_length=NAME_MAX)
    steps: int | None = None
    rank: int | None = None
    learning_rate: float | None = None
    resolution: int | None = None
    trigger_word: str | None = Field(None, max_length=NAME_MAX)
    force: bool = Field(
        False,
        description="Train even when the dataset's readiness report says it is not ready.",
    )


class StrengthBody(BaseModel):
    """The strength picked from the test grid."""

    strength: float


@router.post("/api/actors/{actor_id}/lora-trainings", status_code=status.HTTP_202_ACCEPTED)
async def train(
    actor_id: RowId,
    request: Request,
    response: Response,
    webhook: RequestedWebhook,
    body: dict[str, Any] | None = Body(None),
    wait: float | None = WAIT,
) -> dict[str, Any]:
    """Queue a LoRA training of the actor's dataset; the answer carries version and job."""
    parsed = _parse(TrainBody, body)
    services = container_of(request)
    view, job = await use.start_training(
        services, actor_id, use.TrainRequest(**parsed.model_dump()), webhook_url=webhook
    )
    if wait:
        done = await wait_for_job(services.queue, job.id, min(wait, MAX_WAIT_SECONDS))
        if done is not None:
            job = done
            response.status_code = status.HTTP_200_OK
            view = await use.training(services, view["id"])
    return {"training": view, "job_id": job.id, "status": job.status, "job": job_json(job)}


@router.get("/api/actors/{actor_id}/lora-trainings")
async def list_trainings(actor_id: RowId, request: Request) -> dict[str, Any]:
    """Every LoRA version of the actor, newest first."""
    return {"actor_id": actor_id, "versions": await use.versions(container_of(request), actor_id)}


@router.get("/api/lora-trainings/{training_id}")
async def show(training_id: RowId, request: Request) -> dict[str, Any]:
    """One version: parameters, dataset snapshot, provider, remote id, logs, usage, grid."""
    return await use.training(container_of(request), training_id)


@router.post("/api/lora-trainings/{training_id}/cancel")
async def cancel(training_id: RowId, request: Request) -> dict[str, Any]:
    """Cancel the training job and the remote training."""
    return await use.cancel(container_of(request), training_id)


@router.post("/api/lora-trainings/{training_id}/make-current")
async def make_current(training_id: RowId, request: Request) -> dict[str, Any]:
    """Make this version the actor's LoRA again."""
    return await use.make_current(container_of(request), training_id)


@router.get("/api/lora-trainings/{training_id}/weights")
async def weights(training_id: RowId, request: Request) -> dict[str, Any]:
    """A signed, expiring link to the version's ``.safetensors``."""
    return await use.weights_link(container_of(request), training_id)


@router.get("/api/lora-trainings/{training_id}/test-grid")
async def test_grid(training_id: RowId, request: Request) -> dict[str, Any]:
    """The version's test grid: fixed prompts at strengths 0.6, 0.8 and 1.0."""
    return await use.test_grid(container_of(request), training_id)


@router.post("/api/lora-trainings/{training_id}/strength")
async def pick_strength(
    training_id: RowId, request: Request, body: dict[str, Any] | None = Body(None)
) -> dict[str, Any]:
    """Make a strength from the grid the version's (and, if current, the actor's) default."""
    parsed = _parse(StrengthBody, body)
    return await use.pick_strength(container_of(request), training_id, parsed.strength)


async def _save_upload(upload: UploadFile, dest: Path, limit: int) -> None:
    size = 0
    with dest.open("wb") as out:
        while chunk := await upload.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise ValidationError(f"the file is larger than {limit} bytes", "file")
            await asyncio.to_thread(out.write, chunk)


@router.post("/api/actors/{actor_id}/lora", status_code=status.HTTP_201_CREATED)
async def import_lora(
    actor_id: RowId,
    request: Request,
    file: UploadFile | None = File(None),
    url: str | None = Form(None, max_length=URL_MAX),
    trigger_word: str | None = Form(None, max_length=NAME_MAX),
    strength: float | None = Form(None),
) -> dict[str, Any]:
    """Import a LoRA: upload a ``.safetensors`` (``file``) or give its ``url``."""
    services = container_of(request)
    if (file is None) == (not url):
        raise ValidationError("give either a file or a url", "file")
    if url:
        training_id = await import_url(
            services, actor_id, url, trigger_word=trigger_word, strength=strength
        )
    else:
        assert file is not None
        folder = await asyncio.to_thread(tempfile.mkdtemp, prefix="castsmith-upload-")
        try:
            dest = Path(folder) / "upload.safetensors"
            await _save_upload(file, dest, services.settings.lora_max_weights_bytes)
            training_id = await import_file(
                services,
                actor_id,
                dest,
                trigger_word=trigger_word,
                strength=strength,
                source={"file_name": file.filename},
            )
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)
    return await use.training(services, training_id)


@router.get(
    "/api/actors/{actor_id}/training-data/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "A zip file."}},
)
async def export(
    actor_id: RowId,
    request: Request,
    format: str = Query("zip", description="zip, ai-toolkit or kohya"),
) -> StreamingResponse:
    """A ready-to-run training folder as a zip: the dataset plus the trainer's config."""
    name, chunks = await export_folder(container_of(request), actor_id, format)
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
