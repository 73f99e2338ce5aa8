"""The worker: claims jobs, runs their handlers concurrently, heartbeats, shuts down cleanly.

One asyncio loop per worker. Database calls go through ``asyncio.to_thread``. Claims
fill all free slots at once; finished attempts are flushed to the database in
batches by one flusher task, so many short jobs cost few transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import signal
import socket
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from castsmith.domain.errors import CastsmithError, JobCancelled
from castsmith.domain.jobs import RetryPolicy, should_retry
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
from castsmith.jobs.periodic import PeriodicTask, window_start
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import HandlerRegistry, HandlerResult, JobContext
from castsmith.jobs.sql import JOBS_CHANNEL
from castsmith.jobs.types import ClaimedJob, WaitForChildren

log = logging.getLogger("castsmith.worker")

CANCEL = "cancel"
SHUTDOWN = "shutdown"
LOST = "lost"


def default_worker_id() -> str:
    """host:pid:random, unique per worker object."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs jobs from ``queue`` with handlers from ``registry``.

    ``services`` is handed to every handler as ``ctx.services`` (the application
    container). ``queues`` restricts which queue names this worker claims from.
    """

    def __init__(
        self,
        queue: JobQueue,
        registry: HandlerRegistry,
        services: Any = None,
        concurrency: int = 4,
        queues: Sequence[str] | None = None,
        worker_id: str | None = None,
        *,
        poll_interval: float = 1.0,
        heartbeat_interval: float = 2.0,
        shutdown_grace: float = 30.0,
        retry_policy: RetryPolicy | None = None,
        periodic: Sequence[PeriodicTask] = (),
        rng: random.Random | None = None,
        use_notify: bool = True,
    ) -> None:
        self.queue = queue
        self.registry = registry
        self.services = services
        self.concurrency = max(1, concurrency)
        self.queues = list(queues) if queues else None
        self.worker_id = worker_id or default_worker_id()
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.shutdown_grace = shutdown_grace
        self.retry_policy = retry_policy or RetryPolicy()
        self.periodic = list(periodic)
        self.rng = rng or random.Random()
        self.use_notify = use_notify
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._contexts: dict[int, JobContext] = {}
        self._reasons: dict[int, str] = {}
        self._outcomes: list[Outcome] = []
        self._wake = asyncio.Event()
        self._flush_wanted = asyncio.Event()
        self._stopping = asyncio.Event()
        self._more_waiting = False
        self._closing = False
        self.stopped = asyncio.Event()

    # --- control -------------------------------------------------------------------
    def stop(self) -> None:
        """Stop claiming; running jobs get the grace period, then are handed back."""
        self._stopping.set()
        self._wake.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the worker gracefully."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)

    def wake(self) -> None:
        """Look for work now (called on NOTIFY)."""
        self._wake.set()

    # --- main loop ---------------------------------------------------------------
    async def run(self) -> None:
        """Work until :meth:`stop`; then shut down gracefully."""
        helpers = [
            asyncio.create_task(self._heartbeat_loop(), name="castsmith-heartbeat"),
            asyncio.create_task(self._flush_loop(), name="castsmith-flush"),
        ]
        if self.periodic:
            helpers.append(asyncio.create_task(self._periodic_loop(), name="castsmith-periodic"))
        if not self.queue.is_postgres:
            # SQLite has no NOTIFY: enqueues made in this process wake the worker at
            # once; other processes' enqueues are seen at the next poll.
            loop = asyncio.get_running_loop()

            def wake_soon() -> None:
                if not loop.is_closed():
                    loop.call_soon_threadsafe(self.wake)

            self.queue.add_listener(wake_soon, new_work_only=True)
        if self.queue.is_postgres and self.use_notify:
            from castsmith.jobs.notify import listen

            helpers.append(
                asyncio.create_task(
                    listen(
                        self.queue.engine,
                        [JOBS_CHANNEL],
                        lambda _c, _p: self.wake(),
                        on_connect=self.wake,
                    ),
                    name="castsmith-listen",
                )
            )
        log.info(
            "worker started", extra={"worker_id": self.worker_id, "concurrency": self.concurrency}
        )
        try:
            await self._claim_loop()
        finally:
            await self._shutdown(helpers)
            self.stopped.set()
            log.info("worker stopped", extra={"worker_id": self.worker_id})

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            free = self.concurrency - len(self._tasks)
            claimed: list[ClaimedJob] = []
            if free > 0:
                try:
                    claimed = await asyncio.to_thread(
                        self.queue.claim, self.worker_id, free, self.queues
                    )
                except Exception:
                    log.exception("claiming jobs failed")
                for job in claimed:
                    self._start(job)
            # All free slots filled: more may be waiting, so claim again as soon as
            # a slot frees up; otherwise wait for a NOTIFY or the poll interval.
            self._more_waiting = free > 0 and len(claimed) == free
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    def _start(self, job: ClaimedJob) -> None:
        ctx = JobContext(job, self.queue, self.worker_id, self.services, log)
        self._contexts[job.id] = ctx
        task = asyncio.create_task(self._execute(job, ctx), name=f"castsmith-job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(functools.partial(self._done, job.id))

    def _done(self, job_id: int, _task: asyncio.Task[None] | None = None) -> None:
        self._tasks.pop(job_id, None)
        self._contexts.pop(job_id, None)
        self._reasons.pop(job_id, None)
        if self._more_waiting:
            self._wake.set()

    # --- running one job ---------------------------------------------------------
    async def _execute(self, job: ClaimedJob, ctx: JobContext) -> None:
        outcome = await self._outcome_of(job, ctx)
        if outcome is not None:
            self._outcomes.append(outcome)
            self._flush_wanted.set()

    def _retry_or_fail(
        self,
        job: ClaimedJob,
        error: str,
        retryable: bool,
        retry_after: float | None,
        *,
        timed_out: bool = False,
    ) -> RetryAt | Failed:
        attempt = Attempt(job.id, job.attempt, job.run_id)
        if not should_retry(retryable, job.attempt, job.max_attempts):
            return Failed(attempt, error, timed_out=timed_out)
        delay = self.retry_policy.delay(job.attempt, retry_after, self.rng)
        at = self.queue.clock() + timedelta(seconds=delay)
        return RetryAt(attempt, error, at, timed_out=timed_out)

    async def _call(self, job: ClaimedJob, ctx: JobContext) -> HandlerResult:
        registration = self.registry.get(job.kind)
        if registration is None:
            raise _NoHandler(f"no handler is registered for job kind {job.kind!r}")
        if job.stage == "finalize":
            if registration.on_children_done is None:
                return {}
            summary = await asyncio.to_thread(self.queue.children_summary, job.id)
            return await registration.on_children_done(ctx, summary)
        return await registration.handler(ctx)

    async def _outcome_of(self, job: ClaimedJob, ctx: JobContext) -> Outcome | None:
        attempt = Attempt(job.id, job.attempt, job.run_id)
        timeout = job.timeout_seconds
        deadline = asyncio.timeout(timeout) if timeout else contextlib.nullcontext()
        try:
            async with deadline:
                result = await self._call(job, ctx)
        except asyncio.CancelledError:
            reason = self._reasons.get(job.id)
            task = asyncio.current_task()
            if reason is None or task is None:
                raise
            task.uncancel()
            if reason == CANCEL:
                return Cancelled(attempt)
            if reason == SHUTDOWN:
                return Released(attempt)
            return None  # lost: another worker owns the job now
        except TimeoutError:
            if isinstance(deadline, asyncio.Timeout) and deadline.expired():
                message = f"timed out after {timeout:g} s"
                return self._retry_or_fail(job, message, True, None, timed_out=True)
            log.exception("job handler raised TimeoutError", extra={"job_id": job.id})
            return self._retry_or_fail(job, "the handler timed out", True, None)
        except _NoHandler as exc:
            return Failed(attempt, str(exc))
        except JobCancelled:
            return Cancelled(attempt)
        except CastsmithError as exc:
            retry_after = getattr(exc, "retry_after", None)
            return self._retry_or_fail(job, str(exc), exc.retryable, retry_after)
        except Exception as exc:
            log.exception("job handler crashed", extra={"job_id": job.id, "kind": job.kind})
            message = f"unexpected error in the job handler ({type(exc).__name__}); see worker log"
            return self._retry_or_fail(job, message, True, None)
        if isinstance(result, WaitForChildren):
            registration = self.registry.get(job.kind)
            finalizer = registration is not None and registration.on_children_done is not None
            return WaitingForChildren(attempt, finalizer=finalizer)
        value: Any = result
        if value is not None and not isinstance(value, dict):
            value = {"value": value}
        return Succeeded(attempt, value or {})

    def _cancel(self, job_id: int, reason: str) -> None:
        task = self._tasks.get(job_id)
        if task is None or task.done() or job_id in self._reasons:
            return
        self._reasons[job_id] = reason
        ctx = self._contexts.get(job_id)
        if ctx is not None:
            ctx.cancel_requested = reason == CANCEL
        task.cancel()

    # --- helpers running beside the claim loop --------------------------------------
    async def _flush(self) -> None:
        batch, self._outcomes = self._outcomes, []
        if not batch:
            return
        try:
            await asyncio.to_thread(self.queue.finish, self.worker_id, batch)
        except Exception:
            log.exception("recording job outcomes failed; will retry")
            self._outcomes = batch + self._outcomes
            await asyncio.sleep(min(self.poll_interval, 1.0))
            self._flush_wanted.set()
            return
        # The recorded ends free provider slots and may queue parents for their
        # finalize stage: claim again now rather than at the next poll.
        if len(self._tasks) < self.concurrency:
            self._wake.set()

    async def _flush_loop(self) -> None:
        # Never cancelled: a cancelled flush could drop a batch not yet handed to its
        # thread. On shutdown it is told to finish and drains what is left.
        while True:
            await self._flush_wanted.wait()
            self._flush_wanted.clear()
            await self._flush()
            if self._closing and not self._outcomes:
                return

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            ids = list(self._tasks)
            if not ids:
                continue
            try:
                held = await asyncio.to_thread(self.queue.heartbeat, self.worker_id, ids)
            except Exception:
                log.exception("heartbeat failed")
                continue
            for job_id in ids:
                if job_id not in held:
                    self._cancel(job_id, LOST)
                elif held[job_id]:
                    self._cancel(job_id, CANCEL)

    async def _periodic_loop(self) -> None:
        done: dict[str, object] = {}
        tick = min([self.poll_interval, 5.0, *(task.period for task in self.periodic)])
        while True:
            for task in self.periodic:
                start = window_start(self.queue.clock(), task.period)
                if done.get(task.name) == start:
                    continue
                try:
                    elected = await asyncio.to_thread(
                        self.queue.elect_periodic, task.name, start, self.worker_id
                    )
                    done[task.name] = start
                    if elected:
                        await task.fn(self.services)
                except Exception:
                    log.exception("periodic task failed", extra={"task": task.name})
            await asyncio.sleep(tick)

    async def _shutdown(self, helpers: list[asyncio.Task[Any]]) -> None:
        running = list(self._tasks.values())
        if running:
            log.info(
                "waiting for running jobs",
                extra={"count": len(running), "grace": self.shutdown_grace},
            )
            await asyncio.wait(running, timeout=self.shutdown_grace)
        for job_id in list(self._tasks):
            self._cancel(job_id, SHUTDOWN)
        remaining = list(self._tasks.values())
        if remaining:
            await asyncio.wait(remaining)
        flusher, others = helpers[1], [helpers[0], *helpers[2:]]
        for helper in others:
            helper.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        self._closing = True
        self._flush_wanted.set()
        await flusher


class _NoHandler(Exception):
    """A job of a kind this worker has no handler for (a permanent failure)."""
