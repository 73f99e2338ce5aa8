"""The composition root: builds castsmith's collaborators from settings.

This is the one place that names concrete stores and providers; everything above it
(API, web pages, CLI, workers) receives a :class:`Container`.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from castsmith.config import Settings
from castsmith.db.engine import make_engine, make_session_factory
from castsmith.domain.access import NoCaller, Principal
from castsmith.domain.keys import KeyLayout
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
    """Everything a castsmith process needs, built once from settings.

    API, web pages, CLI and workers all receive this one object; the pipelines see it
    through :class:`castsmith.pipelines._services.Services`. Use cases get a view of it
    scoped to their caller (:meth:`acting_for`): a request's user, a job's owner, or the
    operator for the command line. The unscoped container names nobody.
    """

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    queue: JobQueue
    store: ObjectStore
    urls: UrlBuilder
    keys: KeyLayout
    signing_secret: bytes
    registry: HandlerRegistry
    trainers_override: TrainerRegistry | None = None
    """Trainers to use instead of the configured ones (benchmarks plug fakes in here)."""
    _clients: dict[int, tuple[httpx.AsyncClient, ProviderRegistry]] = field(
        default_factory=dict, repr=False
    )
    _trainers: dict[int, tuple[httpx.AsyncClient, TrainerRegistry]] = field(
        default_factory=dict, repr=False
    )
    _caller: Principal | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # The engine knows no feature: job-end webhooks hook into it here.
        scheduling.install(self.queue)

    @property
    def caller(self) -> Principal:
        """Whom this view of the container acts for; :class:`NoCaller` when nobody."""
        if self._caller is None:
            raise NoCaller(
                "this work names no caller: scope the container with acting_for(user), "
                "or acting_for(OPERATOR) for the operator's own work"
            )
        return self._caller

    def acting_for(self, caller: Principal | None) -> Container:
        """This container as ``caller`` uses it; ``None`` scopes it to nobody.

        The view shares everything else (database, store, HTTP clients): making one per
        request or per job costs a shallow copy.
        """
        view = copy.copy(self)  # no __post_init__: the queue hooks are installed once
        view._caller = caller
        return view

    @property
    def providers(self) -> ProviderRegistry:
        """The configured providers, sharing one HTTP connection pool per event loop.

        An ``httpx.AsyncClient`` belongs to the loop it first ran on, and the CLI runs
        several loops one after another, so each loop gets its own client;
        :meth:`aclose` closes the one of the running loop.
        """
        loop_id = _loop_id()
        found = self._clients.get(loop_id)
        if found is None:
            http = httpx.AsyncClient(timeout=self.settings.provider_timeout, follow_redirects=False)
            found = (http, build_providers(self.settings, http))
            self._clients[loop_id] = found
        return found[1]

    async def aclose(self) -> None:
        """Close the HTTP clients the running event loop's providers and trainers use."""
        loop_id = _loop_id()
        for clients in (self._clients, self._trainers):
            found = clients.pop(loop_id, None)
            if found is not None:
                await found[0].aclose()

    @property
    def trainers(self) -> TrainerRegistry:
        """The configured LoRA trainers, one HTTP connection pool per event loop."""
        if self.trainers_override is not None:
            return self.trainers_override
        loop_id = _loop_id()
        registry = self._trainers.get(loop_id)
        if registry is None:
            http = httpx.AsyncClient(timeout=self.settings.provider_timeout, follow_redirects=False)
            registry = (http, trainers_from_settings(self.settings, http))
            self._trainers[loop_id] = registry
        return registry[1]

    def close(self) -> None:
        """Release database connections (and forget HTTP clients of loops gone by)."""
        self._clients.clear()
        self._trainers.clear()
        self.engine.dispose()


def _loop_id() -> int:
    try:
        return id(asyncio.get_running_loop())
    except RuntimeError:
        return 0


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


def key_layout(settings: Settings) -> KeyLayout:
    """The object key layout: the defaults with the configured templates in their place."""
    return KeyLayout(settings.key_layouts)


def build_container(settings: Settings) -> Container:
    """Build the container for one process."""
    from castsmith.pipelines import register_all

    engine = make_engine(settings.database_url)
    registry = default_registry()
    register_all(registry)
    secret = signing_secret(settings)
    return Container(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        queue=JobQueue.from_settings(engine, settings, registry),
        store=store_from_settings(settings),
        urls=urls_from_settings(settings, secret),
        keys=key_layout(settings),
        signing_secret=secret,
        registry=registry,
    )
