"""Helpers shared by the CLI's command modules.

The command modules are imported for every ``castsmith`` call, ``--help`` included, so
they (and this module) import the application (bootstrap, pipelines, database models,
providers) inside the functions that use it: a help screen should not load the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from castsmith.config import Settings, load_settings
from castsmith.domain.access import OPERATOR
from castsmith.domain.errors import CastsmithError

if TYPE_CHECKING:
    from castsmith.bootstrap import Container

T = TypeVar("T")


def settings_from_context(ctx: typer.Context) -> Settings:
    """The settings built by the root callback (global flags applied), or fresh ones."""
    obj = ctx.find_root().obj
    settings = obj.get("settings") if isinstance(obj, dict) else None
    return settings if isinstance(settings, Settings) else load_settings()


def cli_flags(ctx: typer.Context) -> dict[str, Any]:
    """The global flags given on the command line (only those actually set)."""
    obj = ctx.find_root().obj
    if isinstance(obj, dict) and isinstance(obj.get("flags"), dict):
        return dict(obj["flags"])
    return {}


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error for a person and exit non-zero."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def read_image_file(path: Path) -> bytes:
    """The bytes of an image file named on the command line (a clear exit otherwise)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except IsADirectoryError:
        fail(f"{path}: is a folder, not an image file")
    except OSError as exc:
        fail(f"{path}: cannot read it ({exc.strerror or exc})")


def print_json(value: Any) -> None:
    """Print JSON on stdout (stable key order, ISO dates)."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def run_or_fail(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``func``; turn castsmith errors into a clean exit with their message."""
    try:
        return func(*args, **kwargs)
    except CastsmithError as exc:
        fail(str(exc))


def operator_container(ctx: typer.Context) -> Container:
    """The container with the operator's authority: commands act over the whole library."""
    from castsmith.bootstrap import build_container

    return build_container(settings_from_context(ctx)).acting_for(OPERATOR)


def run_in_container(ctx: typer.Context, work: Callable[[Container], Coroutine[Any, Any, T]]) -> T:
    """Build the container, run ``work`` on it, and turn castsmith errors into exit 1."""
    container = operator_container(ctx)

    async def run() -> T:
        try:
            return await work(container)
        finally:
            await container.aclose()

    try:
        return asyncio.run(run())
    except CastsmithError as exc:
        field = getattr(exc, "field", None)
        fail(f"{field}: {exc}" if field and not str(exc).startswith(field) else str(exc))
    finally:
        container.close()


@contextlib.asynccontextmanager
async def in_process_worker(container: Container, min_concurrency: int = 1) -> AsyncIterator[None]:
    """A worker in this process for as long as the block runs (``--wait`` commands).

    Other workers on the same database may pick the job up too, which is fine.
    """
    from castsmith.jobs.worker import Worker

    settings = container.settings
    worker = Worker(
        container.queue,
        container.registry,
        container,
        concurrency=max(settings.worker_concurrency, min_concurrency),
        poll_interval=min(settings.worker_interval, 0.2),
        heartbeat_interval=settings.job_heartbeat_seconds,
        shutdown_grace=settings.job_shutdown_grace,
    )
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        worker.stop()
        await task


async def resolve_actor_id(container: Container, actor: str) -> int:
    """The id of the actor named by ``actor`` (an id or a name); ``NotFound`` otherwise."""
    from castsmith.pipelines.posters import resolve_actor

    return (await resolve_actor(container, actor)).id
