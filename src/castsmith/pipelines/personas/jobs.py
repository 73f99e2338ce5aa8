"""Job handlers of persona tasks: ``persona.task``, ``persona.base``, ``persona.grid``.

See :mod:`castsmith.pipelines.personas` for the flow; these handlers run it on the job
engine and record each stage on the task and its personas.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, PersonaTask
from castsmith.db.repositories.personas import PersonaRepository
from castsmith.domain import personas as rules
from castsmith.domain.errors import CastsmithError
from castsmith.jobs.registry import HandlerRegistry, JobPayload, PayloadRowId
from castsmith.jobs.types import ChildrenSummary, JobSpec, WaitForChildren
from castsmith.pipelines._checks import request_checks
from castsmith.pipelines._services import Ctx, Services
from castsmith.pipelines.personas import KIND_BASE, KIND_GRID, KIND_TASK
from castsmith.pipelines.personas.data import generate_personas
from castsmith.pipelines.personas.images import PersonaImages, base_asset, failure_message


class TaskPayload(JobPayload):
    """``persona.task``: the task to run."""

    task_id: str = Field(min_length=1, max_length=64)


class PersonaPayload(TaskPayload):
    """``persona.base`` and ``persona.grid``: one persona of a task."""

    result_id: PayloadRowId


async def run_task(ctx: Ctx) -> dict[str, Any] | WaitForChildren:
    """Stage one of a task: persona data when missing, then a child per open persona."""
    services = ctx.services
    task_id = str(ctx.payload["task_id"])

    def load() -> PersonaTask:
        with services.sessions.begin() as session:
            repo = PersonaRepository(session, services.caller)
            task = repo.get_task(task_id, lock=True)
            if task.status in (rules.PENDING, rules.GENERATING_DATA):
                # A pending task, or one whose data attempt died midway: (re)start it.
                repo.clear_results(task)
                repo.set_status(task, rules.GENERATING_DATA)
            return task

    task = await asyncio.to_thread(load)
    if task.status == rules.GENERATING_DATA:
        await ctx.progress(0, f"Generating persona data for {task.count} personas...")
        try:
            personas = await generate_personas(
                services.providers.for_role("text"),
                task_id=task_id,
                count=task.count,
                locale=task.locale,
                constraints=task.constraints or {},
                parallel=services.settings.multithread_flowise,
                progress=lambda done, total: ctx.progress(
                    40.0 * done / total, f"Generated persona data {done}/{total}"
                ),
            )
        except CastsmithError as exc:
            if not exc.retryable or ctx.attempt >= ctx.job.max_attempts:
                await asyncio.to_thread(_fail_data, services, task_id, str(exc))
            raise

        def store() -> None:
            with services.sessions.begin() as session:
                repo = PersonaRepository(session, services.caller)
                locked = repo.get_task(task_id, lock=True)
                repo.add_results(locked, personas)
                repo.set_status(locked, rules.DATA_GENERATED)

        await asyncio.to_thread(store)
    return await _spawn_images(ctx, task_id)


def _fail_data(services: Services, task_id: str, error: str) -> None:
    with services.sessions.begin() as session:
        repo = PersonaRepository(session, services.caller)
        task = repo.get_task(task_id, lock=True)
        repo.set_status(task, rules.FAILED)
        task.error_log = [{"persona": None, "result_id": None, "error": error}]


def _image_job(
    kind: str, task_id: str, result_id: int, name: str, provider: str, key: str | None = None
) -> JobSpec:
    return JobSpec(
        kind=kind,
        payload={"task_id": task_id, "result_id": result_id},
        provider=provider,
        label=name,
        idempotency_key=key,
    )


async def _spawn_images(ctx: Ctx, task_id: str) -> dict[str, Any] | WaitForChildren:
    services = ctx.services
    provider = services.providers.for_role("image").name

    def open_results() -> list[tuple[int, str, bool]]:
        with services.sessions.begin() as session:
            repo = PersonaRepository(session, services.caller)
            task = repo.get_task(task_id, lock=True)
            repo.set_status(task, rules.GENERATING_IMAGES)
            todo = [r for r in repo.results(task) if r.status != rules.RESULT_COMPLETED]
            for result in todo:
                # Here, in one write, rather than by each image job as it starts: at
                # the start of a round every job's write would queue for the database.
                repo.mark_result(result, rules.RESULT_GENERATING)
            return [
                (r.id, f"{r.firstname} {r.lastname}", r.base_image_asset_id is not None)
                for r in todo
            ]

    todo = await asyncio.to_thread(open_results)
    if not todo:
        return await finish_task(ctx, None)
    await ctx.progress(40.0, f"Generating images for {len(todo)} personas...")
    # A persona whose base was recorded (its grid failed before) resumes at the grid.
    await ctx.spawn(
        [
            _image_job(KIND_GRID if has_base else KIND_BASE, task_id, result_id, name, provider)
            for result_id, name, has_base in todo
        ]
    )
    return WaitForChildren()


async def finish_task(ctx: Ctx, summary: ChildrenSummary | None) -> dict[str, Any]:
    """Settle the task once its children ended; returns the job's result."""
    services = ctx.services
    task_id = str(ctx.payload["task_id"])
    child_errors = await asyncio.to_thread(_child_errors, ctx, summary)

    def settle() -> dict[str, Any]:
        with services.sessions.begin() as session:
            repo = PersonaRepository(session, services.caller)
            task = repo.get_task(task_id, lock=True)
            status = repo.settle(task, child_errors)
            counts = repo.result_counts([task.id])[task.id]
            return {"task_id": task_id, "status": status, "personas": counts}

    return await asyncio.to_thread(settle)


def _child_errors(ctx: Ctx, summary: ChildrenSummary | None) -> dict[int, str]:
    """Result id -> why its job ended badly, looking through a base job to its grid.

    A base job that failed because its grid job did carries only the engine's roll-up
    message; the grid job's own error (a timeout, a lost worker) says more.
    """
    errors: dict[int, str] = {}
    for child in summary.children if summary else []:
        result_id = child.payload.get("result_id")
        if not child.error or not isinstance(result_id, int):
            continue
        errors[result_id] = child.error
        if child.kind == KIND_BASE:
            for grandchild in ctx.queue.children_summary(child.id).children:
                if grandchild.error:
                    errors[result_id] = grandchild.error
    return errors


def _load(services: Services, task_id: str, result_id: int) -> tuple[PersonaTask, Any]:
    """The task and the persona an image job works on."""
    with services.sessions() as session:
        repo = PersonaRepository(session, services.caller)
        task = repo.get_task(task_id)
        return task, repo.get_result(task, result_id)


def _load_grid(
    services: Services, task_id: str, result_id: int
) -> tuple[PersonaTask, Any, Asset | None]:
    """The task, the persona and its recorded base (None when missing), in one read."""
    with services.sessions() as session:
        repo = PersonaRepository(session, services.caller)
        task = repo.get_task(task_id)
        result = repo.get_result(task, result_id)
        if result.status == rules.RESULT_COMPLETED or result.base_image_asset_id is None:
            return task, result, None
        return task, result, base_asset(session, result)


def _start(ctx: Ctx, result: Any) -> PersonaImages:
    """The image maker for this job; it marks the persona generating again if needed.

    The task marks its personas generating when it spawns their jobs; a retried job
    finds its persona pending (its earlier attempt failed) and marks it again.
    """
    services = ctx.services
    providers = services.providers
    maker = PersonaImages(
        services, providers.for_role("image"), providers.for_role("text"), ctx.progress
    )
    if result.status != rules.RESULT_GENERATING:
        task_id, result_id = str(ctx.payload["task_id"]), int(ctx.payload["result_id"])
        maker.later(
            lambda: asyncio.to_thread(
                _mark, services, task_id, result_id, rules.RESULT_GENERATING, None
            )
        )
    return maker


async def _failed(ctx: Ctx, maker: PersonaImages, exc: BaseException) -> None:
    """Record a failed attempt on the persona: failed on the last one, else pending."""
    last = not getattr(exc, "retryable", True) or ctx.attempt >= ctx.job.max_attempts
    status = rules.RESULT_FAILED if last else rules.RESULT_PENDING
    message = failure_message(maker.step, exc)
    task_id, result_id = str(ctx.payload["task_id"]), int(ctx.payload["result_id"])
    await asyncio.to_thread(_mark, ctx.services, task_id, result_id, status, message)


async def run_base(ctx: Ctx) -> dict[str, Any] | WaitForChildren:
    """Steps 1-3 of one persona, then its grid job; a failure is recorded, then raised."""
    task_id = str(ctx.payload["task_id"])
    result_id = int(ctx.payload["result_id"])
    task, result = await asyncio.to_thread(_load, ctx.services, task_id, result_id)
    if result.status == rules.RESULT_COMPLETED:
        return {"result_id": result_id, "status": result.status}  # an earlier attempt did it
    name = f"{result.firstname} {result.lastname}"
    provider = ctx.services.providers.for_role("image").name
    # The key makes a retried base job find the grid job an earlier attempt spawned.
    key = f"{KIND_GRID}:{ctx.job_id}:{result_id}"
    grid = [_image_job(KIND_GRID, task_id, result_id, name, provider, key)]
    if result.base_image_asset_id is not None:  # an earlier attempt recorded the base
        await ctx.spawn(grid)
        return WaitForChildren()

    def spawn_grid(session: Session, _asset_id: int) -> None:
        # In the transaction that records the base: one write instead of two, and no
        # recorded base without its grid job. Workers wake when that commits.
        ctx.queue.spawn_in(session, ctx.job_id, grid)

    maker = _start(ctx, result)
    try:
        await maker.base(task, result, spawn_grid)
    except Exception as exc:
        await _failed(ctx, maker, exc)
        raise
    return WaitForChildren()


async def run_grid(ctx: Ctx) -> dict[str, Any]:
    """Steps 4-7 of one persona, from its recorded base; a failure is recorded, then raised."""
    task_id = str(ctx.payload["task_id"])
    result_id = int(ctx.payload["result_id"])
    task, result, base = await asyncio.to_thread(_load_grid, ctx.services, task_id, result_id)
    if result.status == rules.RESULT_COMPLETED:
        return {"result_id": result_id, "status": result.status}
    maker = _start(ctx, result)
    try:
        asset_ids = await maker.grid(task, result, base)
    except Exception as exc:
        await _failed(ctx, maker, exc)
        raise
    # Each split image is checked against the persona's base selfie.
    await request_checks(ctx.services, asset_ids=[*asset_ids, base.id] if base else asset_ids)
    return {"result_id": result_id, "status": rules.RESULT_COMPLETED, "asset_ids": asset_ids}


def _mark(services: Services, task_id: str, result_id: int, status: str, error: str | None) -> None:
    with services.sessions.begin() as session:
        repo = PersonaRepository(session, services.caller)
        repo.mark_result(repo.get_result(repo.get_task(task_id), result_id), status, error)


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the persona task kinds on the job engine."""
    registry.register(
        KIND_TASK, run_task, max_attempts=3, on_children_done=finish_task, payload=TaskPayload
    )
    # No finalizer on the base kind: the engine settles a waiting base job from its grid
    # job directly, without another claim that would need a provider slot.
    registry.register(KIND_BASE, run_base, max_attempts=3, timeout=1800, payload=PersonaPayload)
    registry.register(KIND_GRID, run_grid, max_attempts=3, timeout=1800, payload=PersonaPayload)
