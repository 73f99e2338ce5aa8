"""Persona tasks and their results (one row per persona, with its five image assets)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, PersonaResult, PersonaTask
from castsmith.db.owned import owned_by
from castsmith.domain import access
from castsmith.domain import personas as rules
from castsmith.domain.access import Principal
from castsmith.domain.cursors import Cursors
from castsmith.domain.errors import NotFound, ValidationError

MAX_PAGE = 200

IMAGE_COLUMNS = (
    "base_image_asset_id",
    "image_0_asset_id",
    "image_1_asset_id",
    "image_2_asset_id",
    "image_3_asset_id",
)


TASK_CURSORS = Cursors("pt")
encode_cursor = TASK_CURSORS.encode
decode_cursor = TASK_CURSORS.decode


@dataclass(frozen=True)
class TaskPage:
    """One page of tasks, newest first, and the cursor of the next page (or ``None``)."""

    items: list[PersonaTask]
    next_cursor: str | None
    counts: dict[int, dict[str, int]]


class PersonaRepository:
    """Queries over ``persona_tasks`` and ``persona_results``; the caller commits."""

    def __init__(self, session: Session, caller: Principal) -> None:
        self.session = session
        # Whom every read and write here is done for: owned rows are narrowed to it.
        self.caller = caller

    # --- tasks ---------------------------------------------------------------------

    def create_task(
        self,
        task_id: str,
        request: rules.TaskRequest,
        owner_id: int | None = None,
    ) -> PersonaTask:
        """Insert a pending task and flush so it has a primary key."""
        task = PersonaTask(
            task_id=task_id,
            count=request.count,
            locale=request.locale,
            constraints=dict(request.constraints),
            status=rules.PENDING,
            error_log=[],
            owner_id=owner_id,
        )
        self.session.add(task)
        self.session.flush()
        return task

    def get_task(self, task_id: str, *, lock: bool = False) -> PersonaTask:
        """The task with the public ``task_id``; ``NotFound`` when there is none."""
        query = select(PersonaTask).where(PersonaTask.task_id == task_id)
        if lock:
            query = query.with_for_update()
        task = self.session.scalars(query).first()
        if task is None or not access.may_access(self.caller, task.owner_id):
            raise NotFound(f"persona task {task_id} not found")
        return task

    def set_status(self, task: PersonaTask, status: str) -> None:
        """Move ``task`` to ``status`` (``Conflict`` when the flow does not allow it)."""
        if task.status != status:
            task.status = rules.check_transition(task.status, status)
        self.session.flush()

    def list_tasks(
        self, *, status: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> TaskPage:
        """Tasks newest first, optionally of one ``status``, ``limit`` per page."""
        if status is not None and status not in rules.TASK_STATUSES:
            known = ", ".join(rules.TASK_STATUSES)
            raise ValidationError(f"status must be one of {known}, got {status!r}", "status")
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", "limit")
        query = select(PersonaTask).order_by(PersonaTask.id.desc()).limit(limit + 1)
        if status is not None:
            query = query.where(PersonaTask.status == status)
        query = query.where(*owned_by(PersonaTask.owner_id, self.caller))
        if cursor:
            query = query.where(PersonaTask.id < decode_cursor(cursor))
        rows = list(self.session.scalars(query))
        items, next_cursor = TASK_CURSORS.page(rows, limit, lambda task: task.id)
        return TaskPage(items, next_cursor, self.result_counts(task.id for task in items))

    def result_counts(self, task_pks: Iterable[int]) -> dict[int, dict[str, int]]:
        """Per task primary key: how many results are in each status."""
        ids = list(task_pks)
        counts: dict[int, dict[str, int]] = {pk: {} for pk in ids}
        if not ids:
            return counts
        rows = self.session.execute(
            select(PersonaResult.task_id, PersonaResult.status, func.count())
            .where(PersonaResult.task_id.in_(ids))
            .group_by(PersonaResult.task_id, PersonaResult.status)
        )
        for task_pk, status, n in rows:
            counts[task_pk][status] = int(n)
        return counts

    # --- results -------------------------------------------------------------------

    def add_results(
        self, task: PersonaTask, personas: Sequence[rules.PersonaData]
    ) -> list[PersonaResult]:
        """Insert one pending result per persona, in order."""
        rows = [
            PersonaResult(task_id=task.id, status=rules.RESULT_PENDING, **persona.as_dict())
            for persona in personas
        ]
        self.session.add_all(rows)
        self.session.flush()
        return rows

    def clear_results(self, task: PersonaTask) -> None:
        """Drop every result of ``task`` (only before any image was recorded)."""
        self.session.execute(delete(PersonaResult).where(PersonaResult.task_id == task.id))
        self.session.flush()

    def results(self, task: PersonaTask) -> list[PersonaResult]:
        """The task's results in creation order."""
        return list(
            self.session.scalars(
                select(PersonaResult)
                .where(PersonaResult.task_id == task.id)
                .order_by(PersonaResult.id)
            )
        )

    def get_result(self, task: PersonaTask, result_id: int) -> PersonaResult:
        """One result of ``task``; ``NotFound`` when it does not belong to it."""
        result = self.session.get(PersonaResult, result_id)
        if result is None or result.task_id != task.id:
            raise NotFound(f"persona {result_id} of task {task.task_id} not found")
        return result

    def mark_result(self, result: PersonaResult, status: str, error: str | None = None) -> None:
        """Set a result's status and error."""
        if status not in rules.RESULT_STATUSES:
            raise ValueError(f"unknown persona status {status!r}")
        result.status = status
        result.error = error
        self.session.flush()

    def record_base(self, result: PersonaResult, image_prompt: str, asset_id: int) -> None:
        """Record a persona's base selfie and the prompt it was made from.

        The persona stays unfinished: its grid comes next, and a retry starts there.
        """
        result.base_image_asset_id = asset_id
        result.image_prompt = image_prompt
        self.session.flush()

    def complete_result(self, result: PersonaResult, split_ids: Sequence[int]) -> None:
        """Record the four images split from a persona's grid and finish the persona."""
        splits = IMAGE_COLUMNS[1:]
        if result.base_image_asset_id is None:
            raise ValueError(f"persona {result.id} has no base image to complete")
        if len(split_ids) != len(splits):
            raise ValueError(f"expected {len(splits)} split asset ids, got {split_ids}")
        for column, asset_id in zip(splits, split_ids, strict=True):
            setattr(result, column, asset_id)
        self.mark_result(result, rules.RESULT_COMPLETED)

    def assets_of(self, results: Iterable[PersonaResult]) -> dict[int, Asset]:
        """Every image asset the results point at, by asset id."""
        ids = {
            asset_id
            for result in results
            for asset_id in (getattr(result, column) for column in IMAGE_COLUMNS)
            if asset_id is not None
        }
        if not ids:
            return {}
        return {
            asset.id: asset
            for asset in self.session.scalars(select(Asset).where(Asset.id.in_(ids)))
        }

    # --- roll-up -------------------------------------------------------------------

    def settle(self, task: PersonaTask, child_errors: dict[int, str] | None = None) -> str:
        """Finish ``task`` from its results: unfinished ones fail, status and log follow.

        ``child_errors`` (result id -> message) explains results whose job ended
        without the handler recording why (a timeout, a lost worker, a cancellation).
        """
        errors = child_errors or {}
        results = self.results(task)
        for result in results:
            if result.status not in (rules.RESULT_COMPLETED, rules.RESULT_FAILED):
                reason = errors.get(result.id) or result.error or "image generation did not finish"
                self.mark_result(result, rules.RESULT_FAILED, reason)
        log: list[dict[str, Any]] = [
            rules.error_entry(r.firstname, r.lastname, r.id, r.error or "failed")
            for r in results
            if r.status == rules.RESULT_FAILED
        ]
        status = rules.final_status(r.status for r in results)
        self.set_status(task, status)
        task.error_log = log
        self.session.flush()
        return status
