"""What the pipelines need from the application container.

``bootstrap.Container`` is the one object that has all of this; the pipelines name it
through this protocol because the job engine (which hands it to handlers) and the
pipelines sit below ``bootstrap``.
"""

from __future__ import annotations

from typing import Protocol, Self

from sqlalchemy.orm import Session, sessionmaker

from castsmith.config import Settings
from castsmith.domain.access import Principal
from castsmith.domain.keys import KeyLayout
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import JobContext
from castsmith.providers.registry import ProviderRegistry
from castsmith.providers.trainers.registry import TrainerRegistry
from castsmith.storage.base import ObjectStore
from castsmith.storage.urls import UrlBuilder


class Services(Protocol):
    """The container as the pipelines use it."""

    settings: Settings
    sessions: sessionmaker[Session]
    queue: JobQueue
    store: ObjectStore
    urls: UrlBuilder
    keys: KeyLayout
    signing_secret: bytes

    @property
    def caller(self) -> Principal:
        """Whom this work is done for (``NoCaller`` when nobody is named)."""
        ...

    def acting_for(self, caller: Principal | None) -> Self:
        """The same services as ``caller`` uses them."""
        ...

    @property
    def providers(self) -> ProviderRegistry:
        """The configured providers (``for_role(role)`` picks one)."""
        ...

    @property
    def trainers(self) -> TrainerRegistry:
        """The configured LoRA trainers."""
        ...


#: What a pipeline's job handler gets: the engine's job context over these services.
Ctx = JobContext[Services]
