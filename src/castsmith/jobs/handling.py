"""Running one attempt's handler and saying how it ended (an outcome of :mod:`.outcomes`).

Errors are sorted here: cancellation (by the user, a timeout or a shutdown, each
running the handler's cancel hooks), infrastructure errors (castsmith's own database
or store unreachable, on the longer retry schedule), other retryable errors, and
permanent ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError

from castsmith.domain.errors import CastsmithError, InfrastructureUnavailable, JobCancelled
from castsmith.domain.jobs import INFRASTRUCTURE, PROVIDER, RetryPolicy
from castsmith.jobs.acting import owner_principal
from castsmith.jobs.current import running
from castsmith.jobs.outcomes import (
    Attempt,
    Cancelled,
    Failed,
    Outcome,
    Released,
    RetryAt,
    Succeeded,
    WaitingForChildren,
)
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import (
    HandlerRegistry,
    HandlerResult,
    JobContext,
    LeaseLost,
    run_cancel_hooks,
)
from castsmith.jobs.types import ClaimedJob, WaitForChildren

log = logging.getLogger("castsmith.worker")

#: Why a worker cancelled a handler's task.
CANCEL = "cancel"
SHUTDOWN = "shutdown"
LOST = "lost"


class AttemptRunner:
    """Runs handlers from ``registry`` and decides retries with ``policy``."""

    def __init__(
        self,
        queue: JobQueue,
        registry: HandlerRegistry,
        policy: RetryPolicy,
        rng: random.Random,
    ) -> None:
        self.queue = queue
        self.registry = registry
        self.policy = policy
        self.rng = rng

    def retry_or_fail(
        self,
        job: ClaimedJob,
        error: str,
        retryable: bool,
        retry_after: float | None,
        *,
        timed_out: bool = False,
        category: str = PROVIDER,
    ) -> RetryAt | Failed:
        attempt = Attempt(job.id, job.attempt, job.run_id)
        policy = self.policy
        if not policy.allows(category, retryable, job.attempt, job.max_attempts):
            return Failed(attempt, error, timed_out=timed_out)
        delay = policy.delay(job.attempt, retry_after, self.rng, category)
        at = self.queue.clock() + timedelta(seconds=delay)
        return RetryAt(attempt, error, at, timed_out=timed_out)

    async def _call(self, job: ClaimedJob, ctx: JobContext[Any]) -> HandlerResult:
        registration = self.registry.get(job.kind)
        if registration is None:
            raise _NoHandler(f"no handler is registered for job kind {job.kind!r}")
        # The handler acts as the job's owner: it cannot touch rows its owner could not.
        owner = await asyncio.to_thread(owner_principal, self.queue.engine, job.owner_id)
        if ctx.services is not None:
            ctx.services = ctx.services.acting_for(owner)
        with running(ctx):
            if job.stage == "finalize":
                if registration.on_children_done is None:
                    return {}
                summary = await asyncio.to_thread(self.queue.children_summary, job.id)
                return await registration.on_children_done(ctx, summary)
            return await registration.handler(ctx)

    async def outcome_of(
        self, job: ClaimedJob, ctx: JobContext[Any], reason_of: Callable[[int], str | None]
    ) -> Outcome | None:
        """Run one attempt's handler and say how it ended.

        ``None`` means the worker lost the job to another one: nothing to record.
        ``reason_of(job_id)`` tells why the worker cancelled the handler's task, if it did,
        or why it wants the attempt stopped before its task began (then the handler
        does not run at all).
        """
        attempt = Attempt(job.id, job.attempt, job.run_id)
        early = reason_of(job.id)
        if early is not None:
            # Stopped before its task began (the worker does not cancel a task that
            # has not started): the handler never runs, so no paid work is started.
            return await self._stopped(ctx, attempt, early)
        timeout = job.timeout_seconds
        deadline = asyncio.timeout(timeout) if timeout else contextlib.nullcontext()
        try:
            async with deadline:
                result = await self._call(job, ctx)
        except asyncio.CancelledError:
            reason = reason_of(job.id)
            task = asyncio.current_task()
            if reason is None or task is None:
                raise
            task.uncancel()
            return await self._stopped(ctx, attempt, reason)
        except TimeoutError:
            if isinstance(deadline, asyncio.Timeout) and deadline.expired():
                await run_cancel_hooks(ctx, "timeout")
                message = f"timed out after {timeout:g} s"
                return self.retry_or_fail(job, message, True, None, timed_out=True)
            log.exception("job handler raised TimeoutError", extra={"job_id": job.id})
            return self.retry_or_fail(job, "the handler timed out", True, None)
        except _NoHandler as exc:
            return Failed(attempt, str(exc))
        except LeaseLost:
            return None
        except JobCancelled:
            await run_cancel_hooks(ctx, "cancelled")
            return Cancelled(attempt)
        except InfrastructureUnavailable as exc:
            return self.retry_or_fail(job, str(exc), True, None, category=INFRASTRUCTURE)
        except CastsmithError as exc:
            retry_after = getattr(exc, "retry_after", None)
            return self.retry_or_fail(job, str(exc), exc.retryable, retry_after)
        except DBAPIError as exc:
            # castsmith's own database went away under the handler (a restart, a
            # failover): not the job's fault, and likely to last a while.
            log.warning("database error in job %s: %s", job.id, str(exc).splitlines()[0])
            message = "the database could not be reached; will try again"
            return self.retry_or_fail(job, message, True, None, category=INFRASTRUCTURE)
        except Exception as exc:
            log.exception("job handler crashed", extra={"job_id": job.id, "kind": job.kind})
            message = f"unexpected error in the job handler ({type(exc).__name__}); see worker log"
            return self.retry_or_fail(job, message, True, None)
        if isinstance(result, WaitForChildren):
            registration = self.registry.get(job.kind)
            finalizer = registration is not None and registration.on_children_done is not None
            return WaitingForChildren(attempt, finalizer=finalizer)
        value: Any = result
        if value is not None and not isinstance(value, dict):
            value = {"value": value}
        return Succeeded(attempt, value or {})

    async def _stopped(self, ctx: JobContext[Any], attempt: Attempt, reason: str) -> Outcome | None:
        """The outcome of an attempt the worker stopped (``CANCEL``, ``SHUTDOWN`` or ``LOST``)."""
        if reason == LOST:
            return None  # another worker owns the job now and resumes it
        await run_cancel_hooks(ctx, "cancelled" if reason == CANCEL else "shutdown")
        return Cancelled(attempt) if reason == CANCEL else Released(attempt)


class _NoHandler(Exception):
    """A job of a kind this worker has no handler for (a permanent failure)."""
