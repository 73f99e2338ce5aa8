"""The worker: claims jobs, runs their handlers concurrently, heartbeats, shuts down cleanly.

One asyncio loop per worker. Database calls go through ``asyncio.to_thread``. Claims
fill all free slots at once; finished attempts are flushed to the database in
batches by one flusher task, so many short jobs cost few transactions. When it falls
idle after running jobs, it hands the allocator's free memory back to the system
(see :mod:`castsmith.jobs.memory`).
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
from typing import Any, Generic

from castsmith.domain import access
from castsmith.domain.jobs import RetryPolicy
from castsmith.jobs import memory
from castsmith.jobs.handling import CANCEL, LOST, SHUTDOWN, AttemptRunner
from castsmith.jobs.outcomes import (
    Outcome,
)
from castsmith.jobs.periodic import PeriodicTask, window_start
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import (
    HandlerRegistry,
    JobContext,
    S,
)
from castsmith.jobs.sql import CANCEL_CHANNEL, JOBS_CHANNEL
from castsmith.jobs.types import ClaimedJob

log = logging.getLogger("castsmith.worker")


def default_worker_id() -> str:
    """host:pid:random, unique per worker object."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker(Generic[S]):
    """Runs jobs from ``queue`` with handlers from ``registry``.

    ``services`` is handed to every handler as ``ctx.services`` (the application
    container). ``queues`` restricts which queue names this worker claims from.
    """

    def __init__(
        self,
        queue: JobQueue,
        registry: HandlerRegistry,
        # The container, handed to handlers and periodic tasks as it is (engine tests
        # that need none leave it out).
        services: S = None,  # type: ignore[assignment]
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
        self._attempts = AttemptRunner(queue, registry, self.retry_policy, self.rng)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._contexts: dict[int, JobContext[Any]] = {}
        self._reasons: dict[int, str] = {}
        # Jobs whose task has taken its first step (see _cancel for why it matters).
        self._started: set[int] = set()
        self._outcomes: list[Outcome] = []
        self._wake = asyncio.Event()
        self._flush_wanted = asyncio.Event()
        self._stopping = asyncio.Event()
        self._more_waiting = False
        # Jobs have finished since memory was last handed back (see _claim_loop).
        self._ran_since_release = False
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
        """Work until :meth:`stop`; then shut down gracefully.

        Periodic tasks act as the operator; each handler acts as its job's owner (see
        :mod:`castsmith.jobs.acting`).
        """
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
        # Cancels made in this process stop handlers at once on either database.
        loop = asyncio.get_running_loop()

        def cancel_soon(job_ids: list[int]) -> None:
            if job_ids and not loop.is_closed():
                loop.call_soon_threadsafe(self._cancel_now, job_ids)

        self.queue.add_cancel_listener(cancel_soon)
        if self.queue.is_postgres and self.use_notify:
            from castsmith.jobs.notify import listen

            helpers.append(
                asyncio.create_task(
                    listen(
                        self.queue.engine,
                        [JOBS_CHANNEL, CANCEL_CHANNEL],
                        self._on_notify,
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
            if not self._tasks and self._ran_since_release:
                # Idle: the threads that ran the jobs left freed image buffers in
                # their malloc arenas; without this the RSS keeps that high-water mark.
                self._ran_since_release = False
                await asyncio.to_thread(memory.release_free_memory)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that lands as the event fires, and the loop would go on.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()

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
        self._started.discard(job_id)
        self._ran_since_release = True
        if self._more_waiting:
            self._wake.set()

    # --- running one job ---------------------------------------------------------
    async def _execute(self, job: ClaimedJob, ctx: JobContext[Any]) -> None:
        # From here on a cancel may cancel the task: outcome_of reaches its first await
        # inside the try that turns the cancellation into an outcome. A reason recorded
        # before this step is picked up by outcome_of before it runs the handler.
        self._started.add(job.id)
        outcome = await self._attempts.outcome_of(job, ctx, self._reasons.get)
        if outcome is not None:
            self._outcomes.append(outcome)
            self._flush_wanted.set()

    def _cancel(self, job_id: int, reason: str) -> None:
        task = self._tasks.get(job_id)
        if task is None or task.done() or job_id in self._reasons:
            return
        self._reasons[job_id] = reason
        ctx = self._contexts.get(job_id)
        if ctx is not None:
            ctx.cancel_requested = reason == CANCEL
        # A cancel can be heard after _start registered the job but before its task
        # took its first step (a NOTIFY or this process's own cancel handled in the
        # same loop iteration as the claim). Cancelling such a task closes its
        # coroutine without running it: no outcome is recorded, the job leaves
        # _tasks (so no heartbeat) and stays "running" until its lease runs out. So
        # an unstarted task is left alone; it finds the reason when it starts.
        if job_id in self._started:
            task.cancel()

    def _cancel_now(self, job_ids: Sequence[int]) -> None:
        for job_id in job_ids:
            if job_id in self._tasks:
                self._cancel(job_id, CANCEL)

    def _on_notify(self, channel: str, payload: str) -> None:
        if channel != CANCEL_CHANNEL:
            self.wake()
            return
        with contextlib.suppress(ValueError):
            self._cancel_now([int(payload)])

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
                        await task.fn(self._as_operator())
                except Exception:
                    log.exception("periodic task failed", extra={"task": task.name})
            await asyncio.sleep(tick)

    def _as_operator(self) -> S:
        # Periodic work is the worker's own: it says so, with the operator's authority.
        services: S | None = self.services
        return services.acting_for(access.OPERATOR) if services is not None else self.services

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
