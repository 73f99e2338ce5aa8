"""The orphan cleanup as a periodic task of the workers (with the staged output sweep)."""

from __future__ import annotations

import asyncio

from castsmith.config import Settings
from castsmith.jobs.periodic import PeriodicTask
from castsmith.jobs.registry import HandlerRegistry
from castsmith.pipelines._services import Services
from castsmith.pipelines._staging import sweep_staging
from castsmith.pipelines.cleanup import TASK_NAME, cleanup_orphans


def cleanup_task(settings: Settings) -> PeriodicTask:
    """The periodic task, once per ``cleanup_period_seconds`` across all workers."""

    async def run(services: Services) -> None:
        try:
            await cleanup_orphans(services)
        finally:
            # Staged provider output of jobs that ended without storing it (failed for
            # good, cancelled): nothing resumes from it any more. Local disk only, so
            # it runs even when the store is down and the orphan pass failed.
            await asyncio.to_thread(sweep_staging, services)

    return PeriodicTask(TASK_NAME, settings.cleanup_period_seconds, run)


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the periodic orphan cleanup with the job engine."""
    registry.register_periodic(cleanup_task)
