"""Persona tasks (seed 003): persona data, then five images per persona, in parallel.

A task is one ``persona.task`` job. Its first stage writes the persona data (see
:mod:`castsmith.pipelines.personas.data`) and spawns one ``persona.base`` child per
persona. Each provider call is its own job, tagged with the image provider so the
engine's per-provider caps apply to calls rather than to whole personas: the base job
(prompt, selfie, upload, record) spawns its ``persona.grid`` child (grid from the
base, split, upload, record) and waits for it without holding a slot. The engine rolls
a grid's end up through its base into the task, whose finalizer settles it when the
last persona ended: ``completed``, ``completed_with_errors`` (failures in the error log
as ``{persona, result_id, error}``) or ``failed``. ``retry-failed`` runs a new
``persona.task`` job over the failed personas only, each from the step that failed: a
persona whose base was recorded gets a ``persona.grid`` job straight away.

This module holds the use cases for the API, the web pages and the CLI; the job
handlers are in :mod:`castsmith.pipelines.personas.jobs`.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from faker.config import AVAILABLE_LOCALES

from castsmith.db.models import PersonaTask
from castsmith.db.repositories.assets import AssetRepository
from castsmith.db.repositories.personas import IMAGE_COLUMNS, PersonaRepository
from castsmith.domain import personas as rules
from castsmith.domain.errors import Conflict, NotFound
from castsmith.pipelines._assets import asset_url
from castsmith.pipelines._services import Services
from castsmith.pipelines.personas.checks import persona_checks
from castsmith.pipelines.thumbnails import THUMB, thumb_url

KIND_TASK = "persona.task"
KIND_BASE = "persona.base"
KIND_GRID = "persona.grid"
IMAGE_NAMES = ("base", "image_0", "image_1", "image_2", "image_3")
SEED_URL_FIELDS = ("base_image_url", "image_1_url", "image_2_url", "image_3_url", "image_4_url")


def known_locales() -> frozenset[str]:
    """The locales persona data can be written in (those Faker knows)."""
    return frozenset(name for name in AVAILABLE_LOCALES if "_" in name)


# --- use cases for the API and the CLI -----------------------------------------------


async def create_task(
    services: Services,
    *,
    count: object,
    locale: object = "en_US",
    constraints: object = None,
    owner_id: int | None = None,
    webhook_url: str | None = None,
) -> dict[str, Any]:
    """Check the request, record a pending task and enqueue its job; return the task.

    ``webhook_url`` receives a POST when the task's job ends."""
    request = rules.validate_request(count, locale, constraints, known_locales())
    task_id = str(uuid.uuid4())

    def write() -> None:
        with services.sessions.begin() as session:
            PersonaRepository(session, services.caller).create_task(task_id, request, owner_id)

    await asyncio.to_thread(write)
    try:
        await _start_job(services, task_id, webhook_url)
    except BaseException:
        await asyncio.to_thread(_delete_task, services, task_id)
        raise
    return await get_task(services, task_id, with_results=False)


def _delete_task(services: Services, task_id: str) -> None:
    with services.sessions.begin() as session:
        session.delete(PersonaRepository(session, services.caller).get_task(task_id))


async def _start_job(services: Services, task_id: str, webhook_url: str | None = None) -> int:
    queue = services.queue
    job = await asyncio.to_thread(
        queue.enqueue,
        KIND_TASK,
        {"task_id": task_id},
        label=f"persona task {task_id}",
        owner_id=services.caller.user_id,
        webhook_url=webhook_url,
    )

    def point() -> None:
        with services.sessions.begin() as session:
            PersonaRepository(session, services.caller).get_task(task_id).job_id = job.id

    await asyncio.to_thread(point)
    return int(job.id)


async def retry_failed(
    services: Services, task_id: str, *, webhook_url: str | None = None
) -> dict[str, Any]:
    """Re-run only the failed personas of a finished task (all of it if data failed)."""

    def reset() -> None:
        with services.sessions.begin() as session:
            repo = PersonaRepository(session, services.caller)
            task = repo.get_task(task_id, lock=True)
            if task.status not in (rules.COMPLETED_WITH_ERRORS, rules.FAILED):
                raise Conflict(
                    f"persona task {task_id} is {task.status}; only tasks that ended with "
                    "failed personas can be retried"
                )
            results = repo.results(task)
            if not results:
                repo.set_status(task, rules.PENDING)  # the data never came: start over
            else:
                for result in results:
                    if result.status == rules.RESULT_FAILED:
                        repo.mark_result(result, rules.RESULT_PENDING)
                repo.set_status(task, rules.GENERATING_IMAGES)
            task.error_log = []

    await asyncio.to_thread(reset)
    await _start_job(services, task_id, webhook_url)
    return await get_task(services, task_id, with_results=False)


async def regenerate_persona(
    services: Services, task_id: str, result_id: int, *, webhook_url: str | None = None
) -> dict[str, Any]:
    """Make one persona's images again (a flagged one, say), keeping its data and the
    other personas; the task runs again for that persona alone."""

    def reset() -> None:
        with services.sessions.begin() as session:
            repo = PersonaRepository(session, services.caller)
            task = repo.get_task(task_id, lock=True)
            if task.status not in (rules.COMPLETED, rules.COMPLETED_WITH_ERRORS, rules.FAILED):
                raise Conflict(f"persona task {task_id} is {task.status}; wait until it ends")
            result = next((r for r in repo.results(task) if r.id == result_id), None)
            if result is None:
                raise NotFound(f"persona {result_id} is not part of task {task_id}")
            repo.mark_result(result, rules.RESULT_PENDING)
            repo.set_status(task, rules.GENERATING_IMAGES)

    await asyncio.to_thread(reset)
    await _start_job(services, task_id, webhook_url)
    return await get_task(services, task_id, with_results=False)


async def get_task(
    services: Services, task_id: str, *, with_results: bool = True
) -> dict[str, Any]:
    """The task as the API shows it; with its personas and their image URLs."""

    def read() -> tuple[PersonaTask, list[Any], dict[int, Any], dict[str, int], dict[int, str]]:
        with services.sessions() as session:
            repo = PersonaRepository(session, services.caller)
            task = repo.get_task(task_id)
            results = repo.results(task) if with_results else []
            assets = repo.assets_of(results)
            thumbs = AssetRepository(session).rendition_keys(assets, THUMB)
            counts = repo.result_counts([task.id])[task.id]
            return task, results, assets, counts, thumbs

    task, results, assets, counts, thumbs = await asyncio.to_thread(read)
    body = task_json(task, counts)
    if with_results:
        body["results"] = [await _result_json(services, r, assets, thumbs) for r in results]

        def judged() -> dict[int, dict[str, Any]]:
            with services.sessions() as session:
                return persona_checks(session, results, services.settings)

        verdicts = await asyncio.to_thread(judged)
        for entry in body["results"]:
            entry["checks"] = verdicts.get(entry["result_id"])
        body["flagged"] = [
            r["result_id"] for r in body["results"] if (r["checks"] or {}).get("flagged")
        ]
    return body


async def list_tasks(
    services: Services, *, status: str | None = None, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """A page of tasks, newest first: ``{items, next_cursor}``."""

    def read() -> Any:
        with services.sessions() as session:
            return PersonaRepository(session, services.caller).list_tasks(
                status=status, cursor=cursor, limit=limit
            )

    page = await asyncio.to_thread(read)
    return {
        "items": [task_json(task, page.counts.get(task.id, {})) for task in page.items],
        "next_cursor": page.next_cursor,
    }


def task_json(task: PersonaTask, counts: dict[str, int]) -> dict[str, Any]:
    """A task without its results; ``personas`` counts them by status."""
    return {
        "task_id": task.task_id,
        "status": task.status,
        "count": task.count,
        "locale": task.locale,
        "constraints": task.constraints or {},
        "error_log": task.error_log or [],
        "job_id": task.job_id,
        "personas": {status: counts.get(status, 0) for status in rules.RESULT_STATUSES},
        "created_at": task.created_at.isoformat() if task.created_at else None,
        "updated_at": task.updated_at.isoformat() if task.updated_at else None,
    }


async def _result_json(
    services: Services, result: Any, assets: dict[int, Any], thumbs: dict[int, str]
) -> dict[str, Any]:
    images: list[dict[str, Any]] = []
    urls: dict[str, str | None] = dict.fromkeys(SEED_URL_FIELDS)
    for name, column, seed_field in zip(IMAGE_NAMES, IMAGE_COLUMNS, SEED_URL_FIELDS, strict=True):
        asset = assets.get(getattr(result, column))
        if asset is None:
            continue
        url = await asset_url(services, asset.storage_key)
        urls[seed_field] = url
        images.append(
            {
                "name": name,
                "asset_id": asset.id,
                "key": asset.storage_key,
                "url": url,
                "thumb_url": await thumb_url(services, asset.id, thumbs.get(asset.id)),
                "content_type": asset.content_type,
                "width": asset.width,
                "height": asset.height,
                "size_bytes": asset.size_bytes,
            }
        )
    return {
        "result_id": result.id,
        "firstname": result.firstname,
        "lastname": result.lastname,
        "age": result.age,
        "gender": result.gender,
        "location": result.location,
        "occupation": result.occupation,
        "bio": result.bio,
        "image_prompt": result.image_prompt,
        "status": result.status,
        "error": result.error,
        **urls,
        "images": images,
    }
