"""``castsmith lora ...``: train an actor's LoRA, list and show versions, cancel, use, import.

``ACTOR`` is an actor id or name; ``VERSION`` is a training id. ``train --wait`` runs an
in-process worker and draws a progress bar with the trainer's last log line until the
training ends; without it the job is only queued for the workers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from castsmith.cli.common import (
    fail,
    in_process_worker,
    print_json,
    resolve_actor_id,
    run_in_container,
)

if TYPE_CHECKING:
    from castsmith.bootstrap import Container

TERMINAL = {"completed", "completed_with_errors", "failed", "cancelled"}
BAR = 30

lora_app = typer.Typer(help="Train, list and manage actors' LoRA versions.", no_args_is_help=True)


def bar(percent: float, message: str) -> str:
    """One progress line: ``[#####-----]  50%  message``."""
    filled = int(BAR * max(0.0, min(100.0, percent)) / 100)
    return f"[{'#' * filled}{'-' * (BAR - filled)}] {percent:5.1f}%  {message}"[:160]


def line(view: dict[str, Any]) -> str:
    """A version in one line."""
    mark = "*" if view["is_current"] else " "
    return (
        f"{mark} {view['id']:>5}  v{view['version']:<3} {view['status']:<10} "
        f"{view['provider']:<12} {view['trigger_word']:<16} {view['file_name'] or ''}"
    )


async def _follow(container: Container, job_id: int) -> Any:
    last = ""
    while True:
        job = await asyncio.to_thread(container.queue.get, job_id)
        text = bar(job.progress, job.progress_message or job.status)
        if text != last:
            typer.echo(text, err=True)
            last = text
        if job.status in TERMINAL:
            return job
        await asyncio.sleep(0.2)


async def _checks_done(container: Container, actor_id: int) -> None:
    """Run the checks of photographs not checked yet here, so the readiness gate does
    not wait for workers this command may not have."""
    from castsmith.pipelines._checks import request_checks
    from castsmith.pipelines.training.curation import readiness_report

    if not (await readiness_report(container, actor_id)).pending:
        return
    job = await request_checks(container, actor_id=actor_id)
    if job is not None:
        async with in_process_worker(container, min_concurrency=2):
            await _follow(container, job.id)


@lora_app.command("train")
def train(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    provider: str | None = typer.Option(
        None, "--provider", help="offline, replicate, fal or fal-portrait."
    ),
    steps: int | None = typer.Option(None, "--steps"),
    rank: int | None = typer.Option(None, "--rank"),
    learning_rate: float | None = typer.Option(None, "--learning-rate"),
    resolution: int | None = typer.Option(None, "--resolution"),
    trigger_word: str | None = typer.Option(None, "--trigger-word"),
    wait: bool = typer.Option(False, "--wait/--no-wait", help="Run the job here and wait."),
    force: bool = typer.Option(
        False, "--force", help="Train even if the dataset's readiness report says not ready."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the version as JSON."),
) -> None:
    """Train a new LoRA version on the actor's dataset (refused when the dataset is not
    ready, see ``castsmith training check``, unless ``--force``)."""
    from castsmith.cli.curation import print_report
    from castsmith.pipelines import lora
    from castsmith.pipelines.training.curation import DatasetNotReady

    request = lora.TrainRequest(
        provider, steps, rank, learning_rate, resolution, trigger_word, force=force
    )

    async def work(container: Container) -> tuple[dict[str, Any], Any]:
        actor_id = await resolve_actor_id(container, actor)
        if not force:
            await _checks_done(container, actor_id)
        try:
            view, job = await lora.start_training(container, actor_id, request)
        except DatasetNotReady as exc:
            # The whole report, so the user sees what to fix before the one-line error.
            if as_json:
                print_json({"error": str(exc), "report": exc.report.as_dict()})
            else:
                print_report(exc.report.as_dict())
            raise
        if wait:
            async with in_process_worker(container, min_concurrency=4):
                job = await _follow(container, job.id)
            view = await lora.training(container, view["id"])
        return view, job

    view, job = run_in_container(ctx, work)
    if as_json:
        print_json({"training": view, "job_id": job.id, "status": job.status})
    else:
        typer.echo(f"LoRA v{view['version']} ({view['id']}): {view['status']}, job {job.id}")
    if job.status in {"failed", "cancelled"}:
        fail(job.error or f"the training ended {job.status}")


@lora_app.command("list")
def list_versions(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The actor's LoRA versions, newest first (``*`` marks the current one)."""
    from castsmith.pipelines import lora

    async def work(container: Container) -> list[dict[str, Any]]:
        return await lora.versions(container, await resolve_actor_id(container, actor))

    versions = run_in_container(ctx, work)
    if as_json:
        print_json(versions)
        return
    for view in versions:
        typer.echo(line(view))
    if not versions:
        typer.echo("no LoRA versions yet")


@lora_app.command("show")
def show(
    ctx: typer.Context,
    training_id: int = typer.Argument(..., help="The version's id."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One version: parameters, dataset, provider, remote id, logs, usage."""
    from castsmith.pipelines import lora

    async def work(container: Container) -> dict[str, Any]:
        return await lora.training(container, training_id)

    view = run_in_container(ctx, work)
    if as_json:
        print_json(view)
        return
    typer.echo(line(view))
    typer.echo(f"  params: {view['params']}")
    typer.echo(f"  dataset: {view['dataset']['images']} images, md5 {view['dataset']['md5']}")
    typer.echo(f"  remote: {view['remote_id']}  usage: {view['usage']}")
    if view["error"]:
        typer.echo(f"  error: {view['error']}")
    for log in view["logs"][-5:]:
        typer.echo(f"  | {log}")


@lora_app.command("cancel")
def cancel(ctx: typer.Context, training_id: int = typer.Argument(...)) -> None:
    """Cancel a training here and at the trainer."""
    from castsmith.pipelines import lora

    async def work(container: Container) -> dict[str, Any]:
        return await lora.cancel(container, training_id)

    typer.echo(line(run_in_container(ctx, work)))


@lora_app.command("use")
def use(
    ctx: typer.Context,
    training_id: int = typer.Argument(...),
    strength: float | None = typer.Option(None, "--strength", help="0.6, 0.8 or 1.0."),
) -> None:
    """Make a version the actor's LoRA again (optionally with a strength from its grid)."""
    from castsmith.pipelines import lora

    async def work(container: Container) -> dict[str, Any]:
        view = await lora.make_current(container, training_id)
        if strength is not None:
            view = await lora.pick_strength(container, training_id, strength)
        return view

    typer.echo(line(run_in_container(ctx, work)))


@lora_app.command("import")
def import_lora(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    source: str = typer.Argument(..., help="A .safetensors file or an http(s) URL."),
    trigger_word: str | None = typer.Option(None, "--trigger-word"),
    strength: float | None = typer.Option(None, "--strength"),
) -> None:
    """Import a LoRA trained elsewhere as the actor's next, current version."""
    from castsmith.pipelines import lora
    from castsmith.pipelines.lora.importing import import_file, import_url

    is_url = source.startswith(("http://", "https://"))
    if not is_url and not Path(source).is_file():
        fail(f"no such file: {source}")

    async def work(container: Container) -> dict[str, Any]:
        actor_id = await resolve_actor_id(container, actor)
        if is_url:
            training_id = await import_url(
                container, actor_id, source, trigger_word=trigger_word, strength=strength
            )
        else:
            training_id = await import_file(
                container, actor_id, Path(source), trigger_word=trigger_word, strength=strength
            )
        return await lora.training(container, training_id)

    typer.echo(line(run_in_container(ctx, work)))


def register(app: typer.Typer) -> None:
    """Add ``castsmith lora`` to the root command."""
    app.add_typer(lora_app, name="lora")
