"""The job queue a pipeline enqueues on, taken from the application container."""

from __future__ import annotations

from typing import Any

from castsmith.domain.errors import ConfigurationError
from castsmith.jobs.queue import JobQueue


def job_queue(services: Any) -> JobQueue:
    """The container's job queue (or one built from its engine and settings)."""
    queue = getattr(services, "queue", None)
    if isinstance(queue, JobQueue):
        return queue
    engine = getattr(services, "engine", None)
    if engine is None:
        raise ConfigurationError("no job queue is configured")
    return JobQueue.from_settings(engine, services.settings)
