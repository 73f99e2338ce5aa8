"""Job kinds and their handlers, and the context a handler runs with.

The engine knows kinds, never a pipeline by name: each pipeline registers its kinds
through a ``register_handlers(registry)`` function of its own, wired by bootstrap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError
from sqlalchemy.exc import DBAPIError

from castsmith.domain.access import Principal
from castsmith.domain.errors import JobCancelled, ValidationError
from castsmith.domain.ids import MAX_ROW_ID
from castsmith.jobs.types import ChildrenSummary, ClaimedJob, JobSpec, WaitForChildren

if TYPE_CHECKING:
    from castsmith.jobs.queue import JobQueue

CANCEL_HOOK_TIMEOUT = 30.0


class LeaseLost(JobCancelled):
    """This worker no longer holds the job: another worker took it over."""


HandlerResult = dict[str, Any] | WaitForChildren | None
CancelHook = Callable[[], Awaitable[object]]
Handler = Callable[["JobContext[Any]"], Awaitable[HandlerResult]]
Finalizer = Callable[["JobContext[Any]", ChildrenSummary], Awaitable[dict[str, Any] | None]]


class JobPayload(BaseModel):
    """The schema of one kind's payload, checked when a job of the kind is enqueued.

    Strict and closed: a handler reads only what its schema promises, so a payload
    missing a field, naming an id as ``"8"`` or carrying unknown keys is refused at
    the door (a 422 from the API) instead of crashing a worker later.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


PayloadRowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
"""A row id inside a payload: a JSON integer within the ids' range."""


@dataclass(frozen=True)
class Registration:
    """One kind: its handler, its payload schema and the defaults its jobs get."""

    kind: str
    handler: Handler
    provider: str | None = None
    timeout: float | None = None
    max_attempts: int | None = None
    on_children_done: Finalizer | None = None
    payload: type[BaseModel] | None = None
    """The payload's schema; ``None`` only for kinds tests register for the engine."""

    def check_payload(self, payload: dict[str, Any]) -> BaseModel | None:
        """``payload`` parsed by the kind's schema; :class:`ValidationError` naming the
        first offending field when it does not fit."""
        if self.payload is None:
            return None
        try:
            return self.payload.model_validate(payload)
        except PydanticError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            field = f"payload.{where}" if where else "payload"
            raise ValidationError(
                f"{field}: {first['msg']} (a {self.kind!r} job's payload)", field
            ) from None


class HandlerRegistry:
    """Kinds -> handlers. Registering a kind twice is a mistake and says so."""

    def __init__(self) -> None:
        self._kinds: dict[str, Registration] = {}
        self._periodic: list[Callable[[Any], Any]] = []

    def register_periodic(self, factory: Callable[[Any], Any]) -> None:
        """Add a periodic task: ``factory(settings)`` returns a ``PeriodicTask``.

        A factory rather than a task, so the period can come from the settings of the
        process that runs the worker.
        """
        self._periodic.append(factory)

    def periodic_tasks(self, settings: Any) -> list[Any]:
        """The registered periodic tasks built for ``settings``."""
        return [factory(settings) for factory in self._periodic]

    def register(
        self,
        kind: str,
        handler: Handler,
        *,
        provider: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        on_children_done: Finalizer | None = None,
        payload: type[BaseModel] | None = None,
    ) -> None:
        """Register ``handler`` for ``kind`` (``async (ctx) -> dict | WaitForChildren``).

        ``payload`` is the schema every job of the kind is checked against when it is
        enqueued (a :class:`JobPayload`); every product kind has one.
        ``on_children_done`` runs once every child spawned by a job of this kind has
        ended; it sees the children and their aggregate status and may return the
        parent's result.
        """
        if kind in self._kinds:
            raise ValueError(f"job kind {kind!r} is already registered")
        self._kinds[kind] = Registration(
            kind, handler, provider, timeout, max_attempts, on_children_done, payload
        )

    def get(self, kind: str) -> Registration | None:
        """The registration of ``kind``, or None."""
        return self._kinds.get(kind)

    def require(self, kind: str) -> Registration:
        """The registration of ``kind``; a clear error when there is none."""
        found = self._kinds.get(kind)
        if found is None:
            known = ", ".join(sorted(self._kinds)) or "none"
            raise ValidationError(f"unknown job kind {kind!r} (known: {known})", field="kind")
        return found

    def kinds(self) -> list[str]:
        """The registered kinds, sorted."""
        return sorted(self._kinds)

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds


#: The services a worker hands its handlers: the engine is generic over them, since it
#: sits below the pipelines and bootstrap that define the container.
class ActsForCallers(Protocol):
    """Services that can be narrowed to one caller (the application container does)."""

    def acting_for(self, caller: Principal | None) -> Self:
        """These services as ``caller`` uses them."""
        ...


S = TypeVar("S", bound=ActsForCallers)


class JobContext(Generic[S]):
    """What a handler gets: the job, progress reporting, children, and the services.

    For handlers that start paid remote work, two more things:

    - :meth:`checkpoint` records, durably and at once, what a later attempt needs to
      resume the work instead of starting it again (``await ctx.checkpoint({"remote_id":
      rid})`` right after submitting, before waiting). The next attempt of the job,
      after a crash, a lost lease, a worker shutdown or a retry, finds it in
      :attr:`checkpoint_data`. A user's retry of a failed or cancelled job starts
      clean.
    - :meth:`on_cancel` registers ``async () -> None`` callbacks that run when the
      handler is stopped before it ends: the job was cancelled (``cancel_reason``
      ``"cancelled"``), it ran past its timeout (``"timeout"``) or the worker shut down
      after its grace period (``"shutdown"``). They run after the handler's task was
      cancelled, most recent first, each for at most ``CANCEL_HOOK_TIMEOUT`` seconds;
      an error in one is logged and the others still run. They do not run when the
      worker lost the job to another worker (that one resumes it).
    """

    def __init__(
        self,
        job: ClaimedJob,
        queue: JobQueue,
        worker_id: str,
        services: S,
        logger: logging.Logger,
    ) -> None:
        self.job = job
        self.queue = queue
        self.worker_id = worker_id
        self.services = services
        self.log = logging.LoggerAdapter(logger, {"job_id": job.id, "job_kind": job.kind})
        self.cancel_requested = False
        self.cancel_reason: str | None = None
        self._checkpoint: dict[str, Any] = dict(job.checkpoint or {})
        self.cancel_hooks: list[CancelHook] = []

    @property
    def checkpoint_data(self) -> dict[str, Any]:
        """What earlier attempts (or this one) recorded with :meth:`checkpoint`; ``{}`` if none."""
        return dict(self._checkpoint)

    async def checkpoint(self, data: dict[str, Any]) -> dict[str, Any]:
        """Merge ``data`` into the job's checkpoint and commit it now; returns the whole.

        Values must be JSON-serialisable; a key set to ``None`` stays, as ``None``.
        Raises :class:`JobCancelled` when this worker no longer holds the job (its
        lease ran out and another worker took it over): the handler must stop.
        """
        merged = {**self._checkpoint, **data}
        held = await asyncio.to_thread(
            self.queue.save_checkpoint, self.job.id, self.worker_id, self.job.attempt, merged
        )
        if not held:
            raise LeaseLost(f"job {self.job.id} is no longer held by this worker")
        self._checkpoint = merged
        return dict(merged)

    def on_cancel(self, hook: CancelHook) -> None:
        """Run ``hook`` (``async () -> None``) if the handler is stopped before it ends."""
        self.cancel_hooks.append(hook)

    @property
    def job_id(self) -> int:
        """The job's id."""
        return self.job.id

    @property
    def kind(self) -> str:
        """The job's kind."""
        return self.job.kind

    @property
    def payload(self) -> dict[str, Any]:
        """The job's payload."""
        return self.job.payload

    @property
    def attempt(self) -> int:
        """The number of this attempt, starting at 1."""
        return self.job.attempt

    @property
    def parent_id(self) -> int | None:
        """The parent job's id when this job is a child."""
        return self.job.parent_id

    async def progress(self, percent: float, message: str | None = None) -> None:
        """Report progress (0-100) with an optional message; users see it live.

        Progress is best effort: if the database cannot take the update right now
        (restarting, failing over) the work goes on and the next report catches up,
        rather than failing an attempt that is otherwise fine.
        """
        try:
            await asyncio.to_thread(
                self.queue.progress, self.job.id, self.worker_id, percent, message
            )
        except DBAPIError as exc:
            self.log.warning(
                "progress of job %s not recorded: %s", self.job.id, str(exc).splitlines()[0]
            )

    async def spawn(self, children: Sequence[JobSpec]) -> list[int]:
        """Enqueue child jobs of this job; return their ids.

        Return :class:`WaitForChildren` from the handler to wait for them.
        """
        views = await asyncio.to_thread(self.queue.spawn, self.job.id, list(children))
        return [view.id for view in views]

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if cancellation was requested.

        The worker also cancels the handler's task; this is for handlers doing
        blocking work in threads that want to stop at safe points.
        """
        if self.cancel_requested:
            raise JobCancelled(f"job {self.job.id} was cancelled")


async def run_cancel_hooks(ctx: JobContext[Any], reason: str) -> None:
    """Run the hooks ``ctx``'s handler registered with ``on_cancel``, newest first."""
    ctx.cancel_reason = reason
    hooks, ctx.cancel_hooks = list(reversed(ctx.cancel_hooks)), []
    for hook in hooks:
        try:
            async with asyncio.timeout(CANCEL_HOOK_TIMEOUT):
                await hook()
        except Exception:
            ctx.log.exception("cancel hook of job %s failed (%s)", ctx.job_id, reason)
