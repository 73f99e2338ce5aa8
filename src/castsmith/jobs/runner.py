"""Building a configured worker and running it in-process or as a process of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from castsmith.config import Settings
from castsmith.domain.jobs import RetryPolicy
from castsmith.jobs.memory import tune_allocator
from castsmith.jobs.periodic import PeriodicTask
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import HandlerRegistry, S
from castsmith.jobs.retention import retention_task
from castsmith.jobs.worker import Worker


def make_worker(
    queue: JobQueue,
    registry: HandlerRegistry,
    settings: Settings,
    services: S = None,  # type: ignore[assignment]  # the container; see Worker
    *,
    concurrency: int | None = None,
    queues: Sequence[str] | None = None,
    periodic: Sequence[PeriodicTask] = (),
) -> Worker[S]:
    """A worker with the settings' intervals, backoff and the retention task."""
    tasks = [
        retention_task(queue.engine, settings),
        *registry.periodic_tasks(settings),
        *periodic,
    ]
    return Worker(
        queue,
        registry,
        services,
        concurrency or settings.worker_concurrency,
        queues,
        poll_interval=settings.worker_interval,
        heartbeat_interval=settings.job_heartbeat_seconds,
        shutdown_grace=settings.job_shutdown_grace,
        retry_policy=RetryPolicy(
            settings.job_backoff_base,
            settings.job_backoff_cap,
            infra_base=settings.job_infra_backoff_base,
            infra_cap=settings.job_infra_backoff_cap,
            infra_attempts=settings.job_infra_max_attempts,
        ),
        periodic=tasks,
    )


def run_worker_process(
    worker: Worker[Any], on_exit: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Run ``worker`` until SIGTERM/SIGINT, then shut it down gracefully.

    ``on_exit`` runs last on the worker's event loop (e.g. closing HTTP clients).
    The allocator is tuned first (see :mod:`castsmith.jobs.memory`), before the
    worker's threads allocate anything.
    """
    tune_allocator()

    async def main() -> None:
        worker.install_signal_handlers()
        try:
            await worker.run()
        finally:
            if on_exit is not None:
                await on_exit()

    asyncio.run(main())
