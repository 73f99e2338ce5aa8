"""Job commands: ``castsmith worker`` and ``castsmith jobs ...`` (enqueue, list, show, ...)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer

from castsmith.cli.common import (
    fail,
    operator_container,
    print_json,
    run_or_fail,
)

if TYPE_CHECKING:
    from castsmith.bootstrap import Container
    from castsmith.jobs.types import JobView

jobs_app = typer.Typer(help="Inspect and manage jobs.", no_args_is_help=True)


def _container(ctx: typer.Context) -> Container:
    try:
        return operator_container(ctx)
    except Exception as exc:
        fail(f"cannot start: {exc}")


def worker(
    ctx: typer.Context,
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1, help="Jobs run at once (default from settings)."
    ),
    queues: str | None = typer.Option(None, "--queues", help="Comma-separated queue names."),
) -> None:
    """Run a worker until SIGTERM/SIGINT (running jobs get a grace period)."""
    from castsmith.domain.redact import mask_credentials
    from castsmith.jobs.runner import make_worker, run_worker_process
    from castsmith.logs import configure_logging

    container = _container(ctx)
    settings = container.settings
    configure_logging(settings.log_level, settings.log_json, redact=mask_credentials)
    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    instance = make_worker(
        container.queue,
        container.registry,
        settings,
        container,
        concurrency=concurrency,
        queues=names,
    )
    try:
        run_worker_process(instance, on_exit=container.aclose)
    finally:
        container.close()


def _line(job: JobView) -> str:
    progress = f"{job.progress:.0f}%"
    extra = f"  {job.error}" if job.error else ""
    return f"{job.id:>8}  {job.status:<22} {progress:>5}  {job.kind}{extra}"


def _payload(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        fail(f"--payload is not valid JSON: {exc}")
    if not isinstance(value, dict):
        fail("--payload must be a JSON object")
    return value


@jobs_app.command("enqueue")
def enqueue(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="A registered job kind, e.g. diagnostic.sleep."),
    payload: str = typer.Option("{}", "--payload", help="The job's payload as JSON."),
    count: int = typer.Option(1, "--count", min=1, help="How many identical jobs."),
    priority: int = typer.Option(0, "--priority", help="Higher runs first."),
    idempotency_key: str | None = typer.Option(None, "--idempotency-key"),
    queue: str = typer.Option("default", "--queue"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Enqueue jobs; prints their ids."""
    from castsmith.jobs.types import JobSpec

    container = _container(ctx)
    run_or_fail(container.registry.require, kind)
    body = _payload(payload)
    specs = [
        JobSpec(
            kind=kind, payload=body, priority=priority, queue=queue, idempotency_key=idempotency_key
        )
        for _ in range(count)
    ]
    jobs = run_or_fail(container.queue.enqueue_many, specs)
    container.close()
    if as_json:
        print_json([asdict(job) for job in jobs])
        return
    for job in jobs:
        typer.echo(job.id)


@jobs_app.command("list")
def list_jobs(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status"),
    kind: str | None = typer.Option(None, "--kind"),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List jobs, newest first."""
    container = _container(ctx)
    jobs, _ = run_or_fail(
        container.queue.list_jobs, container.caller, status=status, kind=kind, limit=limit
    )
    container.close()
    if as_json:
        print_json([asdict(job) for job in jobs])
        return
    for job in jobs:
        typer.echo(_line(job))


@jobs_app.command("show")
def show(
    ctx: typer.Context,
    job_id: int = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one job with its runs."""
    container = _container(ctx)
    job = run_or_fail(container.queue.get, job_id)
    runs = container.queue.runs(job_id)
    container.close()
    if as_json:
        print_json(asdict(job) | {"runs": [asdict(run) for run in runs]})
        return
    typer.echo(_line(job))
    typer.echo(f"  payload: {json.dumps(job.payload)}")
    if job.result is not None:
        typer.echo(f"  result:  {json.dumps(job.result, default=str)}")
    for entry in job.error_log:
        typer.echo(f"  child {entry.get('child_id')} ({entry.get('kind')}): {entry.get('error')}")
    for run in runs:
        error = f"  {run.error}" if run.error else ""
        typer.echo(f"  run {run.attempt}: {run.outcome:<10} on {run.worker_id}{error}")


@jobs_app.command("cancel")
def cancel(ctx: typer.Context, job_id: int = typer.Argument(...)) -> None:
    """Cancel a job (running jobs stop at their worker's next heartbeat)."""
    container = _container(ctx)
    job = run_or_fail(container.queue.cancel, job_id)
    container.close()
    state = "cancellation requested" if job.status == "running" else job.status
    typer.echo(f"job {job.id}: {state}")


@jobs_app.command("retry")
def retry(ctx: typer.Context, job_id: int = typer.Argument(...)) -> None:
    """Queue a failed or cancelled job again."""
    container = _container(ctx)
    job = run_or_fail(container.queue.retry, job_id)
    container.close()
    typer.echo(f"job {job.id}: {job.status}")


@jobs_app.command("stats")
def stats(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Jobs by status and kind, runs by outcome."""
    container = _container(ctx)
    numbers = container.queue.stats()
    container.close()
    if as_json:
        print_json(numbers)
        return
    for section, values in numbers.items():
        typer.echo(f"{section}: {json.dumps(values, sort_keys=True)}")


@jobs_app.command("prune")
def prune(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would go."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Delete ended jobs, runs and events past their retention ages, in small batches."""
    from castsmith.jobs.retention import Retention, RetentionPolicy

    container = _container(ctx)
    retention = Retention(container.queue.engine, RetentionPolicy.from_settings(container.settings))
    report = run_or_fail(retention.prune, dry_run=dry_run)
    container.close()
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {report.jobs} jobs, {report.runs} runs, {report.events} events")
    if report.kept_active_trees:
        typer.echo(f"kept {report.kept_active_trees} ended jobs with a job still active below")
    if not dry_run:
        typer.echo(
            f"{report.batches} batches in {report.seconds:.2f} s, "
            f"longest {report.longest_batch * 1000:.0f} ms"
        )


def register(app: typer.Typer) -> None:
    """Add ``worker`` and ``jobs`` to the root app."""
    app.command()(worker)
    app.add_typer(jobs_app, name="jobs")
