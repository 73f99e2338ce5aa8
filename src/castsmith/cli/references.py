"""``castsmith references ...``: character references for video jobs.

``generate`` queues a reference job (1 to 4 images from a description); with ``--wait``
an in-process worker runs it and the images are printed when it has ended. ``list``
shows the standalone references, newest first; ``attach`` copies references into a
video job's folder (idempotent per image).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from castsmith.cli.common import fail, in_process_worker, print_json, run_in_container

if TYPE_CHECKING:
    from castsmith.bootstrap import Container

references_app = typer.Typer(
    help="Generate, list and attach character references.", no_args_is_help=True
)


def _show(items: list[dict[str, Any]], as_json: bool, key: str = "items") -> None:
    if as_json:
        print_json({key: items})
        return
    for item in items:
        typer.echo(f"{item['id']}  {item['aspect_ratio']:<5}  {item['cloud_path']}")
    typer.echo(f"{len(items)} reference(s)")


@references_app.command("generate")
def generate(
    ctx: typer.Context,
    description: str = typer.Option(..., "--description", help="Who the character is."),
    count: int = typer.Option(4, "--count", help="How many images (1 to 4)."),
    aspect_ratio: str = typer.Option("1:1", "--aspect-ratio", help="1:1, 3:4, 4:3, 9:16, 16:9"),
    seed: int | None = typer.Option(None, "--seed"),
    wait: bool = typer.Option(False, "--wait/--no-wait", help="Run the job here and wait."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Generate reference images of a character from a description."""
    from castsmith.jobs.waiting import wait_for_job
    from castsmith.pipelines import references as refs

    async def work(container: Container) -> dict[str, Any]:
        request = refs.ReferenceRequest(
            description=description, num_images=count, aspect_ratio=aspect_ratio, seed=seed
        )
        job = refs.enqueue_generate(container, request)
        if not wait:
            return {"job_id": job.id, "status": job.status, "images": []}
        async with in_process_worker(container):
            done = await wait_for_job(container.queue, job.id, poll=0.1, max_poll=0.2)
        assert done is not None  # no deadline: it returns only once the job has ended
        if done.status != "completed":
            return {"job_id": job.id, "status": done.status, "error": done.error, "images": []}
        ids = [item["id"] for item in (done.result or {}).get("images", [])]
        rows = [await refs.find(container, image_id) for image_id in ids]
        return {
            "job_id": job.id,
            "status": done.status,
            "images": await refs.describe(container, rows),
        }

    outcome = run_in_container(ctx, work)
    if outcome.get("error") is not None or outcome["status"] in {"failed", "cancelled"}:
        fail(outcome.get("error") or f"job {outcome['job_id']} ended {outcome['status']}")
    if as_json:
        print_json(outcome)
    elif not wait:
        typer.echo(f"queued job {outcome['job_id']} ({outcome['status']})")
    else:
        _show(outcome["images"], as_json=False)


@references_app.command("list")
def list_references(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The standalone references, newest first."""
    from castsmith.pipelines import references as refs

    async def work(container: Container) -> list[dict[str, Any]]:
        return await refs.describe(container, await refs.list_references(container, limit=limit))

    _show(run_in_container(ctx, work), as_json)


@references_app.command("attach")
def attach(
    ctx: typer.Context,
    job_id: str = typer.Argument(..., help="The video job's id."),
    image_ids: list[str] = typer.Argument(..., help="Reference ids to attach."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Copy references into a video job's folder (attaching one twice keeps one copy)."""
    from castsmith.pipelines import references as refs
    from castsmith.pipelines.references.video import attach_to_video_job

    async def work(container: Container) -> list[dict[str, Any]]:
        rows = await attach_to_video_job(container, job_id, image_ids)
        return await refs.describe(container, rows)

    _show(run_in_container(ctx, work), as_json)


def register(app: typer.Typer) -> None:
    """Add ``castsmith references`` to the root command."""
    app.add_typer(references_app, name="references")
