"""Persona task commands: ``castsmith personas create|list|show|retry-failed``.

``create --wait`` (and ``retry-failed --wait``) runs a job worker inside the command
until the task ends, so the embedded default needs no separate worker process; other
workers sharing the database may pick up part of the work meanwhile.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import typer

from castsmith.cli.common import fail, print_json, run_in_container
from castsmith.domain import personas as rules

if TYPE_CHECKING:
    from castsmith.bootstrap import Container

personas_app = typer.Typer(help="Generate persona tasks (data + five images each).")


async def _wait(container: Container, task_id: str, quiet: bool) -> dict[str, Any]:
    from castsmith.jobs.runner import make_worker
    from castsmith.pipelines import personas as use

    worker = make_worker(container.queue, container.registry, container.settings, container)
    running = asyncio.create_task(worker.run())
    last = ""
    try:
        while True:
            task = await use.get_task(container, task_id, with_results=False)
            counts = task["personas"]
            line = (
                f"{task['status']}: {counts['completed']} done, {counts['failed']} failed "
                f"of {task['count']}"
            )
            if line != last and not quiet:
                typer.echo(line, err=True)
                last = line
            if task["status"] in rules.FINISHED_STATUSES:
                return await use.get_task(container, task_id)
            await asyncio.sleep(0.25)
    finally:
        worker.stop()
        await running


def _print_task(task: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(task)
        return
    typer.echo(f"task {task['task_id']}  {task['status']}  {task['count']} x {task['locale']}")
    for result in task.get("results", []):
        name = f"{result['firstname']} {result['lastname']}"
        typer.echo(f"  #{result['result_id']:<6} {result['status']:<11} {name}, {result['age']}")
        for image in result["images"]:
            typer.echo(f"           {image['name']:<8} {image['url']}")
        if result["error"]:
            typer.echo(f"           error: {result['error']}")
    for entry in task["error_log"]:
        typer.echo(f"  failed: {entry['persona']} (#{entry['result_id']}): {entry['error']}")


@personas_app.command("create")
def create(
    ctx: typer.Context,
    count: int = typer.Option(..., "--count", "-n", help="How many personas (1-100)."),
    locale: str = typer.Option("en_US", "--locale", "-l", help="Locale, e.g. de_DE."),
    constraints: str | None = typer.Option(
        None, "--constraints", help='JSON, e.g. \'{"gender": "female", "age_min": 25}\'.'
    ),
    wait: bool = typer.Option(False, "--wait", help="Run the task here and wait for it."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Start a persona task; prints its task id (or, with --wait, the finished task)."""
    from castsmith.pipelines import personas as use

    rules_in: Any = None
    if constraints:
        try:
            rules_in = json.loads(constraints)
        except json.JSONDecodeError as exc:
            fail(f"--constraints is not valid JSON: {exc}")

    async def work(container: Container) -> dict[str, Any]:
        task = await use.create_task(container, count=count, locale=locale, constraints=rules_in)
        if wait:
            return await _wait(container, task["task_id"], as_json)
        return task

    task = run_in_container(ctx, work)
    if as_json:
        print_json(task)
    elif wait:
        _print_task(task, False)
    else:
        typer.echo(task["task_id"])
    if wait and task["status"] == rules.FAILED:
        raise typer.Exit(1)


@personas_app.command("list")
def list_tasks(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help="Only tasks in this status."),
    limit: int = typer.Option(50, "--limit", help="How many (newest first)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List persona tasks, newest first."""
    from castsmith.pipelines import personas as use

    page = run_in_container(ctx, lambda c: use.list_tasks(c, status=status, limit=limit))
    if as_json:
        print_json(page)
        return
    for task in page["items"]:
        counts = task["personas"]
        typer.echo(
            f"{task['task_id']}  {task['status']:<22} {task['count']:>3} x {task['locale']}  "
            f"{counts['completed']} done, {counts['failed']} failed"
        )


@personas_app.command("show")
def show(
    ctx: typer.Context,
    task_id: str = typer.Argument(..., metavar="TASK", help="The task id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A task with its personas, their status and image URLs."""
    from castsmith.pipelines import personas as use

    _print_task(run_in_container(ctx, lambda c: use.get_task(c, task_id)), as_json)


@personas_app.command("retry-failed")
def retry_failed(
    ctx: typer.Context,
    task_id: str = typer.Argument(..., metavar="TASK", help="The task id."),
    wait: bool = typer.Option(False, "--wait", help="Run it here and wait for it."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-run only the failed personas of a task."""

    from castsmith.pipelines import personas as use

    async def work(container: Container) -> dict[str, Any]:
        task = await use.retry_failed(container, task_id)
        return await _wait(container, task_id, as_json) if wait else task

    task = run_in_container(ctx, work)
    if wait:
        _print_task(task, as_json)
    elif as_json:
        print_json(task)
    else:
        typer.echo(f"task {task['task_id']}: {task['status']} (job {task['job_id']})")


def register(app: typer.Typer) -> None:
    """Add ``castsmith personas ...`` to the root command."""
    app.add_typer(personas_app, name="personas")
