"""``castsmith training ...``: generate a dataset, one image, list it, export it as a zip.

``ACTOR`` is an actor id or name. ``--wait`` runs an in-process worker until the job has
ended, so the commands work with no separate worker running; without it the job is only
queued for the workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from castsmith.cli.common import (
    fail,
    in_process_worker,
    print_json,
    read_image_file,
    resolve_actor_id,
    run_in_container,
)

if TYPE_CHECKING:
    from castsmith.bootstrap import Container
    from castsmith.jobs.types import JobView

TERMINAL = {"completed", "completed_with_errors", "failed", "cancelled"}

training_app = typer.Typer(help="Generate and manage LoRA training datasets.", no_args_is_help=True)


async def _until_done(container: Container, job: JobView) -> JobView:
    last = ""
    while True:
        current = await asyncio.to_thread(container.queue.get, job.id)
        message = current.progress_message or current.status
        if message != last:
            typer.echo(f"job {job.id}: {message}", err=True)
            last = message
        if current.status in TERMINAL:
            return current
        await asyncio.sleep(0.2)


def _report(job: JobView, as_json: bool) -> None:
    if as_json:
        print_json({"job_id": job.id, "status": job.status, "result": job.result})
    else:
        typer.echo(f"job {job.id} {job.status}")
        if job.result:
            keys = ("created", "failed", "skipped", "filename", "key")
            shown = {k: job.result[k] for k in keys if k in job.result}
            typer.echo(" ".join(f"{k}={v}" for k, v in shown.items()))
    if job.status in {"failed", "cancelled"}:
        fail(job.error or f"job {job.id} ended {job.status}")


async def _submit(
    container: Container, make: Callable[[], Coroutine[Any, Any, JobView]], wait: bool
) -> JobView:
    job = await make()
    if not wait:
        return job
    async with in_process_worker(container, min_concurrency=8):
        return await _until_done(container, job)


@training_app.command("generate-all")
def generate_all(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    provider: str | None = typer.Option(None, "--provider", help="Image provider to use."),
    base_image_url: str | None = typer.Option(
        None, "--base-image-url", help="Use this public image URL as the base for this run."
    ),
    base_image: Path | None = typer.Option(
        None, "--base-image", help="Make this image file the actor's base image first."
    ),
    wait: bool = typer.Option(False, "--wait/--no-wait", help="Run the job here and wait."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """One training image per library prompt that has none yet (resumable).

    The images are drawn from the actor's base image: give one with ``--base-image
    FILE`` (or ``castsmith actors base-image ACTOR --generate``) when it has none.
    """
    from castsmith.pipelines import actors as actor_use
    from castsmith.pipelines.training import (
        GenerateOptions,
        enqueue_generate_all,
    )

    if base_image is not None and base_image_url:
        fail("give --base-image FILE or --base-image-url URL, not both")
    data = read_image_file(base_image) if base_image is not None else None
    options = GenerateOptions(provider=provider, base_image_url=base_image_url)

    async def work(container: Container) -> JobView:
        actor_id = await resolve_actor_id(container, actor)
        if data is not None:
            await actor_use.set_base_image(container, actor_id, data, field="--base-image")
        return await _submit(
            container, lambda: enqueue_generate_all(container, actor_id, options), wait
        )

    _report(run_in_container(ctx, work), as_json)


@training_app.command("generate")
def generate_one(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    prompt: str = typer.Option(..., "--prompt", help="What the image should show."),
    provider: str | None = typer.Option(None, "--provider", help="Image provider to use."),
    seed: int | None = typer.Option(None, "--seed"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Run the job here and wait."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """One training image with a custom prompt."""
    from castsmith.pipelines.training import (
        GenerateOptions,
        enqueue_generate_one,
    )

    options = GenerateOptions(provider=provider, seed=seed)

    async def work(container: Container) -> JobView:
        actor_id = await resolve_actor_id(container, actor)
        return await _submit(
            container, lambda: enqueue_generate_one(container, actor_id, prompt, options), wait
        )

    _report(run_in_container(ctx, work), as_json)


@training_app.command("list")
def list_items(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest-like JSON."),
) -> None:
    """The actor's training images with their status."""

    from castsmith.pipelines.training import dataset

    async def work(container: Container) -> dict[str, Any]:
        actor_id = await resolve_actor_id(container, actor)
        return await dataset.training_data(container, actor_id)

    listing = run_in_container(ctx, work)
    if as_json:
        print_json(listing)
        return
    for entry in listing["training_data"]:
        typer.echo(
            f"{entry['id']:>6}  {entry['status']:<8}  {entry['filename']:<40}  "
            f"{entry['size_mb']:>6.2f} MB  {entry['prompt'] or ''}"
        )
    stats = listing["statistics"]
    typer.echo(
        f"{stats['training_images_count']} images, {stats['training_rejected_count']} rejected"
    )


@training_app.command("export")
def export(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    out: Path = typer.Option(..., "--out", help="The zip file to write."),
    fmt: str = typer.Option(
        "zip", "--format", help="zip (the dataset), ai-toolkit or kohya (a ready-to-run folder)."
    ),
) -> None:
    """Write the dataset (images + .txt captions with the trigger word) as a zip."""

    from castsmith.pipelines.lora.export import export_folder

    async def work(container: Container) -> int:
        actor_id = await resolve_actor_id(container, actor)
        _, chunks = await export_folder(container, actor_id, fmt)
        tmp = out.with_name(out.name + ".part")
        written = 0
        try:
            with tmp.open("wb") as handle:
                async for chunk in chunks:
                    handle.write(chunk)
                    written += len(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)  # never leave half a zip behind
            raise
        tmp.replace(out)
        return written

    size = run_in_container(ctx, work)
    typer.echo(f"wrote {out} ({size} bytes)")


def register(app: typer.Typer) -> None:
    """Add ``castsmith training`` to the root command."""
    from castsmith.cli import curation

    curation.register(training_app)
    app.add_typer(training_app, name="training")
