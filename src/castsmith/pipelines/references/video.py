"""A video job's assets: persisted under ``videos/{job_id}/``, references copied in, one zip."""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid
import zipfile
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, CharacterReference, VideoJob
from castsmith.domain.access import Principal, may_access
from castsmith.domain.errors import Conflict, NotFound, ValidationError
from castsmith.domain.keys import validate_key, validate_segment
from castsmith.imaging.served import served_type
from castsmith.pipelines._assets import (
    AssetKeys,
    AssetProvenance,
    CopyOf,
    FileFacts,
    NewAsset,
    Reserved,
    asset_url,
    numbered,
)
from castsmith.pipelines._services import Services
from castsmith.pipelines._writer import write_assets
from castsmith.pipelines.references import ReferenceRow, find, list_references


def job_prefix(job_id: str) -> str:
    """The folder holding everything of one video job."""
    return f"videos/{validate_segment(job_id, 'job_id')}"


@dataclass(frozen=True)
class VideoJobInfo:
    """A video job's id and owner, and whether this call created it."""

    id: str
    owner_id: int | None
    created: bool


def _may_create_by_writing(caller: Principal) -> bool:
    # Admins and the operator may start a video job by writing into it; an ordinary
    # user creates it first, so nobody can claim an id another user is about to use.
    return caller.is_admin


async def create_video_job(services: Services, job_id: str | None) -> VideoJobInfo:
    """Create video job ``job_id`` (a fresh random id when ``None``) for the caller.

    The caller's own existing job is returned as it is; another user's answers 409.
    """
    wanted = job_id if job_id is not None else f"vj-{secrets.token_hex(8)}"
    job_prefix(wanted)
    caller = services.caller

    def work() -> VideoJobInfo:
        with services.sessions.begin() as session:
            row = session.get(VideoJob, wanted)
            if row is None:
                owner = caller.user_id
                session.add(VideoJob(id=wanted, owner_id=owner))
                return VideoJobInfo(wanted, owner, created=True)
            if not may_access(caller, row.owner_id):
                raise Conflict(f"the video job id '{wanted}' is taken; choose another")
            return VideoJobInfo(wanted, row.owner_id, created=False)

    try:
        return await asyncio.to_thread(work)
    except IntegrityError:
        # Someone created the same id at the same moment: answer as for their row.
        return await create_video_job(services, wanted)


async def open_video_job(services: Services, job_id: str, *, create: bool) -> None:
    """Check the caller may use video job ``job_id``; with ``create``, start it if new.

    Another user's job answers as if it did not exist, so ids don't leak. Only admins
    and the operator start a job by writing into it (see :func:`create_video_job`).
    """
    job_prefix(job_id)
    caller = services.caller
    create = create and _may_create_by_writing(caller)

    def work() -> None:
        with services.sessions.begin() as session:
            row = session.get(VideoJob, job_id)
            if row is None and create:
                session.add(VideoJob(id=job_id, owner_id=caller.user_id))
                return
            if row is None or not may_access(caller, row.owner_id):
                raise NotFound(
                    f"no video job with id '{job_id}'; create it with POST /api/video-jobs"
                )

    try:
        await asyncio.to_thread(work)
    except IntegrityError:
        # Someone claimed the same new id at the same moment: check against their row.
        await open_video_job(services, job_id, create=False)


@dataclass(frozen=True)
class JobAsset:
    """One object of a video job."""

    path: str
    key: str
    size: int
    url: str


async def persist_asset(
    services: Services, job_id: str, path: str, data: bytes, content_type: str
) -> JobAsset:
    """Store one file of a video job; an existing file is never replaced (409)."""
    relative = validate_key(path, "path")
    await open_video_job(services, job_id, create=True)
    if not data:
        raise ValidationError("the uploaded file is empty", "file")
    limit = services.settings.max_upload_bytes
    if len(data) > limit:
        raise ValidationError(f"file: the upload is larger than {limit} bytes", "file")
    key = f"{job_prefix(job_id)}/{relative}"
    # Stored with the type its bytes show, not the one the uploader claimed.
    stored_type = served_type(data[:64], content_type).content_type

    def only_once(n: int) -> list[AssetKeys]:
        if n > 1:  # the key is taken, by a row or by an object: never replace it
            raise Conflict(f"video job '{job_id}' already has a file at '{relative}'")
        return [AssetKeys(key)]

    provenance = AssetProvenance(owner_id=services.caller.user_id, meta={"video_job_id": job_id})
    file = NewAsset(data, "video_job_file", stored_type, provenance)
    await write_assets(services, [file], only_once)
    return JobAsset(relative, key, len(data), await asset_url(services, key))


async def list_assets(services: Services, job_id: str) -> list[JobAsset]:
    """Every file of a video job, with a URL a user can open, sorted by path."""
    prefix = job_prefix(job_id)
    await open_video_job(services, job_id, create=False)
    found = [meta async for meta in services.store.list(prefix)]
    found.sort(key=lambda meta: meta.key)
    return [
        JobAsset(
            meta.key[len(prefix) + 1 :], meta.key, meta.size, await asset_url(services, meta.key)
        )
        for meta in found
    ]


async def download_zip(services: Services, job_id: str) -> bytes:
    """All of a video job's files in one zip, paths relative to the job folder."""
    prefix = job_prefix(job_id)
    await open_video_job(services, job_id, create=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        async for meta in services.store.list(prefix):
            archive.writestr(meta.key[len(prefix) + 1 :], await services.store.get(meta.key))
    return buffer.getvalue()


async def attach_to_video_job(
    services: Services, job_id: str, image_ids: list[str]
) -> list[ReferenceRow]:
    """Copy references into the video job's folder and record them; idempotent per image."""
    validate_segment(job_id, "job_id")
    if not image_ids:
        raise ValidationError("image_ids must name at least one reference", "image_ids")
    sources = [await find(services, image_id) for image_id in dict.fromkeys(image_ids)]
    await open_video_job(services, job_id, create=True)
    existing = {
        r.source_reference_id
        for r in await list_references(services, video_job_id=job_id, limit=1000)
    }
    wanted = [source for source in sources if source.id not in existing]
    if wanted:
        await _copy_references(services, job_id, wanted)
    return await list_references(services, video_job_id=job_id, limit=1000)


async def _copy_references(services: Services, job_id: str, sources: list[ReferenceRow]) -> None:
    """Copy ``sources`` into the video job's folder and record them, all or none."""

    def origins() -> list[Asset]:
        with services.sessions() as session:
            keys = [source.key for source in sources]
            by_key = {
                row.storage_key: row
                for row in session.scalars(select(Asset).where(Asset.storage_key.in_(keys)))
            }
            session.expunge_all()
            return [by_key[key] for key in keys]

    found = await asyncio.to_thread(origins)
    files = [
        NewAsset(
            CopyOf(origin.storage_key),
            "character_reference",
            origin.content_type,
            AssetProvenance(
                provider=origin.provider,
                model=origin.model,
                prompt=origin.prompt,
                seed=origin.seed,
                parent_asset_id=origin.id,
                owner_id=origin.owner_id,
                meta=dict(origin.meta or {}),
            ),
            facts=FileFacts(
                origin.content_type,
                origin.size_bytes,
                origin.md5,
                origin.sha256,
                origin.width,
                origin.height,
            ),
        )
        for origin in found
    ]
    wanted = [
        numbered(
            services.keys.job_character_reference(job_id, source.id, source.key.rsplit(".", 1)[-1])
        )
        for source in sources
    ]

    def record(session: Session, reserved: Reserved) -> None:
        for source, origin, asset_id in zip(sources, found, reserved.ids, strict=True):
            session.add(
                CharacterReference(
                    id=str(uuid.uuid4()),
                    description=source.description,
                    aspect_ratio=source.aspect_ratio,
                    asset_id=asset_id,
                    video_job_id=job_id,
                    source_reference_id=source.id,
                    owner_id=origin.owner_id,
                )
            )

    await write_assets(
        services, files, lambda n: [keys_for(n)[0] for keys_for in wanted], record=record
    )
