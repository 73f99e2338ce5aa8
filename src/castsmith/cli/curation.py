"""``castsmith training add`` and ``castsmith training check``: a user's photographs into a
dataset, and the curation checks with the readiness report.

Both run the check job in this process (an in-process worker) unless ``--no-wait``, with
a progress bar on stderr, and print the report: what is usable, the identity spread,
duplicates, blurred images, and what to do.
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
    from castsmith.jobs.types import JobView

TERMINAL = {"completed", "completed_with_errors", "failed", "cancelled"}


async def _with_bar(container: Container, job: JobView) -> JobView:
    """Run the job here, drawing its progress (0-100) as a bar on stderr."""
    async with in_process_worker(container, min_concurrency=2):
        with typer.progressbar(length=100, label="checking", file=None) as bar:
            shown = 0
            while True:
                current = await asyncio.to_thread(container.queue.get, job.id)
                step = int(current.progress or 0) - shown
                if step > 0:
                    bar.update(step)
                    shown += step
                if current.status in TERMINAL:
                    bar.update(100 - shown)
                    return current
                await asyncio.sleep(0.2)


def print_report(report: dict[str, Any]) -> None:
    """The readiness report in words."""
    counts, identity = report["counts"], report["identity"]
    typer.echo("ready for training" if report["ready"] else "NOT ready for training")
    typer.echo(
        f"{counts['usable']} usable of {counts['images']} images "
        f"(at least {report['min_images']} needed); {counts['warn']} with warnings, "
        f"{counts['reject_suggested']} to reject, {counts['pending']} still being checked"
    )
    if identity["median"] is not None:
        typer.echo(
            f"identity distance: median {identity['median']:.2f}, worst "
            f"{identity['worst']:.2f} (threshold {identity['threshold']:.2f})"
        )
    typer.echo(
        f"near-copies: {counts['duplicates']}, blurred: {counts['blurred']}, "
        f"placeholder art: {counts['placeholder']}"
    )
    for reason in report["reasons"]:
        typer.echo(f"- {reason}")


async def _check_and_report(
    container: Container, actor_id: int, triage: bool | None, wait: bool
) -> dict[str, Any]:
    from castsmith.pipelines._checks import request_checks
    from castsmith.pipelines.training.curation import readiness_report

    await readiness_report(container, actor_id)  # NotFound for an unknown actor
    job = await request_checks(container, actor_id=actor_id, triage=triage)
    if job is None:
        fail("the check could not be queued")
    if wait:
        job = await _with_bar(container, job)
        if job.status != "completed":
            fail(job.error or f"the check ended {job.status}")
    report = (await readiness_report(container, actor_id)).as_dict()
    return {"actor_id": actor_id, "job_id": job.id, "triaged": _triaged(job), **report}


def _triaged(job: JobView) -> list[int]:
    return list((job.result or {}).get("triaged", []))


def check(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    triage: bool = typer.Option(
        False, "--triage", help="Reject (recoverably) the images whose verdict is reject-suggested."
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Run the check here and wait."),
) -> None:
    """Check the actor's base and training images and print the readiness report."""

    async def work(container: Container) -> dict[str, Any]:
        actor_id = await resolve_actor_id(container, actor)
        return await _check_and_report(container, actor_id, True if triage else None, wait)

    report = run_in_container(ctx, work)
    if as_json:
        print_json(report)
        return
    if report["triaged"]:
        typer.echo(
            f"rejected {len(report['triaged'])} image(s) by triage (restore brings them back)"
        )
    print_report(report)


def add(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    files: list[Path] = typer.Argument(..., help="Image files (JPEG, PNG, WebP, GIF)."),
    triage: bool = typer.Option(False, "--triage", help="Triage the dataset after the check."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Run the check here and wait."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Add your own photographs to the actor's dataset (numbered like generated ones)."""
    from castsmith.pipelines.training.upload import upload_training_images

    read: list[tuple[str, bytes]] = []
    for path in files:
        if not path.is_file():
            fail(f"{path}: no such file")
        read.append((path.name, path.read_bytes()))

    async def work(container: Container) -> dict[str, Any]:
        actor_id = await resolve_actor_id(container, actor)
        stored = await upload_training_images(container, actor_id, read)
        report = await _check_and_report(container, actor_id, True if triage else None, wait)
        return {"items": stored["items"], "report": report}

    outcome = run_in_container(ctx, work)
    if as_json:
        print_json(outcome)
        return
    for item in outcome["items"]:
        typer.echo(f"added {item['filename']}")
    print_report(outcome["report"])


def register(training_app: typer.Typer) -> None:
    """Add the commands to ``castsmith training``."""
    training_app.command("add")(add)
    training_app.command("check")(check)
