"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from castsmith import __version__, auth, web
from castsmith.api import (
    actors,
    assets,
    costs,
    errors,
    files,
    health,
    jobs,
    lora,
    personas,
    posters,
    references,
    training,
)
from castsmith.api.headers import SecurityHeaders
from castsmith.api.limits import Allowance, BodyLimit
from castsmith.api.request_ids import RequestIds
from castsmith.bootstrap import Container


def create_app(container: Container, *, run_worker: bool = False) -> FastAPI:
    """Build the web application around ``container``.

    ``run_worker`` starts an in-process job worker for the app's lifetime (the
    embedded default); deployments with separate workers leave it off.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threads = container.settings.server_threads
        if threads is not None:
            # Blocking work runs in these threads. Fewer threads fight less over the GIL
            # with the event loop: one serves reads fastest on SQLite (BENCHMARKS.md).
            asyncio.get_running_loop().set_default_executor(
                ThreadPoolExecutor(threads, thread_name_prefix="castsmith-server")
            )
        try:
            async with jobs.app_worker(app, container, run_worker):
                yield
        finally:
            await container.aclose()

    app = FastAPI(
        title="castsmith",
        version=__version__,
        description="Build and keep libraries of consistent AI characters.",
        lifespan=lifespan,
        # /docs and /redoc are served by the web room from installed assets (no CDN).
        docs_url=None,
        redoc_url=None,
    )
    # Requests scope it to their caller (castsmith.auth.scope); the app's own copy names
    # nobody, so nothing in a request can borrow another caller's authority.
    app.state.container = container.acting_for(None)
    app.state.run_worker = run_worker

    # Innermost of the middleware: ids, logs and the last-resort 500 (see request_ids).
    app.add_middleware(RequestIds)
    auth.install(app, container)
    # Outermost: even the refusals of authentication carry the headers.
    app.add_middleware(SecurityHeaders)

    # Outermost of all: a body over the limit is refused before anything reads it.
    app.add_middleware(
        BodyLimit,
        upload_bytes=container.settings.max_upload_bytes,
        # LoRA weights are far bigger than images; that one route streams them to disk.
        allowances=[
            Allowance(
                re.compile(r"/api/actors/[^/]+/lora"),
                container.settings.lora_max_weights_bytes,
                "CASTSMITH_LORA_MAX_WEIGHTS_BYTES",
            )
        ],
    )
    errors.install(app)
    app.include_router(health.router)
    app.include_router(files.router)
    app.include_router(assets.router)
    app.include_router(actors.router)
    app.include_router(posters.router)
    app.include_router(jobs.router)
    app.include_router(personas.router)
    app.include_router(training.router)
    app.include_router(lora.router)
    app.include_router(references.router)
    app.include_router(costs.router)
    web.install(app)
    errors.document(app)
    return app
