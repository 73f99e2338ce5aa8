"""What the pipelines need from the application container, and its job queue."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from castsmith.config import Settings
from castsmith.domain.errors import ConfigurationError
from castsmith.jobs.queue import JobQueue
from castsmith.storage.base import ObjectStore
from castsmith.storage.urls import UrlBuilder


class Services(Protocol):
    """What the pipelines need from the application container."""

    settings: Settings
    sessions: sessionmaker[Session]
    store: ObjectStore
    urls: UrlBuilder


def job_queue(services: Any) -> JobQueue:
    """The container's job queue (or one built from its engine and settings)."""
    queue = getattr(services, "queue", None)
    if isinstance(queue, JobQueue):
        return queue
    engine = getattr(services, "engine", None)
    if engine is None:
        raise ConfigurationError("no job queue is configured")
    return JobQueue.from_settings(engine, services.settings)
