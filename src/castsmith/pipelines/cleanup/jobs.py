"""The orphan cleanup as a periodic task of the workers."""

from __future__ import annotations

from castsmith.config import Settings
from castsmith.jobs.periodic import PeriodicTask
from castsmith.jobs.registry import HandlerRegistry
from castsmith.pipelines._services import Services
from castsmith.pipelines.cleanup import TASK_NAME, cleanup_orphans


def cleanup_task(settings: Settings) -> PeriodicTask:
    """The periodic task, once per ``cleanup_period_seconds`` across all workers."""

    async def run(services: Services) -> None:
        await cleanup_orphans(services)

    return PeriodicTask(TASK_NAME, settings.cleanup_period_seconds, run)


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the periodic orphan cleanup with the job engine."""
    registry.register_periodic(cleanup_task)
