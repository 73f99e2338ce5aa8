"""``castsmith posters ...``: generate, regenerate many, list versions, make one current.

``ACTOR`` is an actor id or name. With ``--wait`` (the default) the command runs an
in-process worker until its job has ended, so it works with no separate worker; other
workers on the same database may pick the job up too, which is fine.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import typer

from castsmith.cli.common import (
    fail,
    in_process_worker,
    print_json,
    resolve_actor_id,
    run_in_container,
)
from castsmith.domain.jobs import TERMINAL_STATUSES

if TYPE_CHECKING:
    from castsmith.bootstrap import Container
    from castsmith.jobs.types import JobView


posters_app = typer.Typer(help="Generate and manage poster frames.", no_args_is_help=True)


def _children(container: Container, parent_id: int) -> tuple[int, int]:
    """(ended, total) children of a batch job."""
    from sqlalchemy import func, select

    from castsmith.db.models import Job

    with container.sessions() as session:
        rows = session.execute(
            select(Job.status, func.count()).where(Job.parent_id == parent_id).group_by(Job.status)
        ).all()
    total = sum(count for _, count in rows)
    ended = sum(count for status, count in rows if status in TERMINAL_STATUSES)
    return ended, total


async def _follow(container: Container, job: JobView, *, batch: bool) -> JobView:
    """Show a progress bar until ``job`` ends; return its final state."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(f"job {job.id}", total=100)
        while True:
            current = await asyncio.to_thread(container.queue.get, job.id)
            if batch:
                ended, total = await asyncio.to_thread(_children, container, job.id)
                bar.update(task, completed=ended, total=max(total, 1), description="posters")
            else:
                message = current.progress_message or current.status
                bar.update(task, completed=current.progress, description=message[:40])
            if current.status in TERMINAL_STATUSES:
                return current
            await asyncio.sleep(0.2)


def _finish(job: JobView) -> None:
    if job.status not in {"completed", "completed_with_errors"}:
        fail(job.error or f"job {job.id} ended {job.status}")


# Override fields whose option is named differently (errors name the option typed).
_FLAGS = {
    "style_lora_strength": "style-strength",
    "lora_strength_model": "lora-strength",
    "lora_strength_clip": "lora-clip-strength",
}


@posters_app.command("generate")
def generate(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    style_lora: str | None = typer.Option(None, "--style-lora", help="Style LoRA name."),
    style_strength: float | None = typer.Option(None, "--style-strength"),
    steps: int | None = typer.Option(None, "--steps"),
    seed: int | None = typer.Option(None, "--seed"),
    width: int | None = typer.Option(None, "--width"),
    height: int | None = typer.Option(None, "--height"),
    guidance: float | None = typer.Option(None, "--guidance"),
    lora_strength: float | None = typer.Option(
        None, "--lora-strength", help="Character LoRA strength (model)."
    ),
    lora_clip_strength: float | None = typer.Option(
        None, "--lora-clip-strength", help="Character LoRA strength (CLIP)."
    ),
    teacache: str | None = typer.Option(None, "--teacache", help="current, legacy or off."),
    new_seed: bool = typer.Option(
        False, "--new-seed", help="A fresh seed even if the actor's defaults keep one."
    ),
    make_current: bool = typer.Option(
        True,
        "--make-current/--no-make-current",
        help="--no-make-current: the version joins the history; the current poster stays.",
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Run the job here and wait."),
    as_json: bool = typer.Option(False, "--json", help="Print the response as JSON."),
) -> None:
    """Draw a new poster version for ACTOR (options left out: the actor's remembered
    poster defaults, else the workflow's)."""
    from pydantic import ValidationError as PydanticError

    from castsmith.pipelines import posters as use
    from castsmith.pipelines.posters.params import PosterOverrides

    try:
        overrides = PosterOverrides.model_validate(
            {
                "style_lora": style_lora,
                "style_lora_strength": style_strength,
                "steps": steps,
                "seed": seed,
                "width": width,
                "height": height,
                "guidance": guidance,
                "lora_strength_model": lora_strength,
                "lora_strength_clip": lora_clip_strength,
                "teacache": teacache,
                "new_seed": new_seed or None,
            }
        )
    except PydanticError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0])
        flag = _FLAGS.get(field, field.replace("_", "-"))
        fail(f"--{flag}: {first['msg']}")

    async def work(container: Container) -> JobView:
        actor_id = await resolve_actor_id(container, actor)
        job = await use.request_poster(container, actor_id, overrides, make_current=make_current)
        if not wait:
            return job
        async with in_process_worker(container):
            return await _follow(container, job, batch=False)

    job = run_in_container(ctx, work)
    if not wait:
        typer.echo(f"queued job {job.id} ({job.status})")
        return
    _finish(job)
    result = job.result or {}
    if as_json:
        print_json(use.seed_shape(result))
        return
    poster = result.get("poster", {})
    kept = "" if poster.get("is_current", True) else " (not made current)"
    typer.echo(f"{result.get('actor_name')}: poster version {poster.get('version')}{kept}")
    for size, url in result.get("poster_frames", {}).get("standard", {}).items():
        typer.echo(f"  {size}: {url}")


@posters_app.command("regenerate")
def regenerate(
    ctx: typer.Context,
    actors: list[str] = typer.Argument(None, help="Actor ids or names."),
    all_actors: bool = typer.Option(False, "--all", help="Every actor in the library."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Run the jobs here and wait."),
) -> None:
    """Draw new posters for several actors (one batch job with a child per actor)."""
    from castsmith.db.repositories.actors import ActorFilters
    from castsmith.pipelines import posters as use
    from castsmith.pipelines.posters.params import PosterOverrides

    if all_actors == bool(actors):
        fail("give actor ids/names or --all (not both)")

    async def work(container: Container) -> JobView:
        if all_actors:
            job = await use.request_batch(container, PosterOverrides(), filters=ActorFilters())
        else:
            ids = [await resolve_actor_id(container, a) for a in actors]
            job = await use.request_batch(container, PosterOverrides(), actor_ids=ids)
        if not wait:
            return job
        async with in_process_worker(container):
            return await _follow(container, job, batch=True)

    job = run_in_container(ctx, work)
    if not wait:
        typer.echo(f"queued batch job {job.id}")
        return
    _finish(job)
    result = job.result or {}
    typer.echo(f"{result.get('succeeded', 0)} of {result.get('total', 0)} posters regenerated")
    for entry in result.get("errors", []):
        typer.echo(f"  {entry.get('label')}: {entry.get('error')}")


@posters_app.command("list")
def list_versions(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The actor's poster versions, newest first (* marks the current one)."""

    from castsmith.pipelines import posters as use

    async def work(container: Container) -> list[dict[str, Any]]:
        return await use.history(container, await resolve_actor_id(container, actor))

    items = run_in_container(ctx, work)
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("no poster versions yet")
    for item in items:
        mark = "*" if item["is_current"] else " "
        typer.echo(
            f"{mark} v{item['version']:<4} {item['created_at']}  seed {item['seed']}  "
            f"{item['provider']}"
        )


@posters_app.command("make-current")
def make_current(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    version: int = typer.Argument(..., help="Version number to show again."),
) -> None:
    """Make an earlier version the actor's poster again."""

    from castsmith.pipelines import posters as use

    async def work(container: Container) -> dict[str, Any]:
        actor_id = await resolve_actor_id(container, actor)
        return await use.make_current(container, actor_id, version)

    item = run_in_container(ctx, work)
    typer.echo(f"version {item['version']} is now current")


def register(app: typer.Typer) -> None:
    """Add the ``posters`` command group to the root app."""
    app.add_typer(posters_app, name="posters")
