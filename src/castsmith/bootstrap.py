"""The composition root: builds castsmith's collaborators from settings.

This is the one place that names concrete stores and providers; everything above it
(API, web pages, CLI, workers) receives a :class:`Container`.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from castsmith.config import Settings
from castsmith.db.engine import make_engine, make_session_factory
from castsmith.jobs import diagnostic
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import HandlerRegistry
from castsmith.providers.registry import ProviderRegistry, providers_from_settings
from castsmith.providers.trainers.registry import TrainerRegistry, trainers_from_settings
from castsmith.storage.base import ObjectStore
from castsmith.storage.factory import store_from_settings, urls_from_settings
from castsmith.storage.urls import UrlBuilder
from castsmith.webhooks import delivery, scheduling
from castsmith.workflows.text_to_image import text_to_image_workflow


def default_registry() -> HandlerRegistry:
    """The job kinds every process knows: the built-in diagnostics and webhook delivery."""
    registry = HandlerRegistry()
    diagnostic.register_handlers(registry)
    delivery.register_handlers(registry)
    return registry


@dataclass
class Container:
    """Everything a castsmith process needs, built once from settings."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore
    urls: UrlBuilder
    extras: dict[str, Any] = field(default_factory=dict)
    registry: HandlerRegistry = field(default_factory=default_registry)
    queue: JobQueue = field(init=False)
    providers_override: ProviderRegistry | None = None
    trainers_override: TrainerRegistry | None = None
    _providers_by_loop: dict[int, ProviderRegistry] = field(default_factory=dict, repr=False)
    _trainers_by_loop: dict[int, TrainerRegistry] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.queue = JobQueue.from_settings(self.engine, self.settings, self.registry)
        # The engine knows no feature: job-end webhooks hook into it here.
        scheduling.install(self.queue)

    @property
    def providers(self) -> ProviderRegistry:
        """The configured providers, sharing one HTTP connection pool per event loop.

        An ``httpx.AsyncClient`` belongs to the loop it first ran on, and the CLI runs
        several loops one after another, so each loop gets its own client.
        """
        if self.providers_override is not None:
            return self.providers_override
        try:
            loop_id = id(asyncio.get_running_loop())
        except RuntimeError:
            loop_id = 0
        registry = self._providers_by_loop.get(loop_id)
        if registry is None:
            http = httpx.AsyncClient(timeout=self.settings.provider_timeout, follow_redirects=False)
            registry = build_providers(self.settings, http)
            self._providers_by_loop[loop_id] = registry
        return registry

    @property
    def trainers(self) -> TrainerRegistry:
        """The configured LoRA trainers, one HTTP connection pool per event loop."""
        if self.trainers_override is not None:
            return self.trainers_override
        try:
            loop_id = id(asyncio.get_running_loop())
        except RuntimeError:
            loop_id = 0
        registry = self._trainers_by_loop.get(loop_id)
        if registry is None:
            http = httpx.AsyncClient(timeout=self.settings.provider_timeout, follow_redirects=False)
            registry = trainers_from_settings(self.settings, http)
            self._trainers_by_loop[loop_id] = registry
        return registry

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_providers(settings: Settings, http: httpx.AsyncClient) -> ProviderRegistry:
    """The configured providers around one HTTP client.

    RunPod and ComfyUI receive the FLUX text-to-image workflow builder, so they can
    make images from a prompt as well as run the poster workflow.
    """
    return providers_from_settings(settings, http, workflow_builder=text_to_image_workflow)


def signing_secret(settings: Settings) -> bytes:
    """The HMAC key for locally signed URLs: configured, or created once per data folder.

    Every process sharing a data folder must sign alike, so a generated key is kept in
    ``{data_dir}/secret.key`` rather than made per process.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip().encode()


def build_container(settings: Settings) -> Container:
    """Build the container for one process."""
    from castsmith.pipelines import register_all

    engine = make_engine(settings.database_url)
    registry = default_registry()
    register_all(registry)
    return Container(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        store=store_from_settings(settings),
        urls=urls_from_settings(settings, signing_secret(settings)),
        registry=registry,
    )
