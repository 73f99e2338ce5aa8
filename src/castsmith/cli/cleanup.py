"""``castsmith cleanup``: remove stored objects no database row references."""

from __future__ import annotations

import asyncio

import typer

from castsmith.cli.common import operator_container, print_json, run_or_fail


def cleanup(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would be removed."),
    grace: float | None = typer.Option(
        None, "--grace", min=0, help="Keep objects younger than this many seconds."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Remove orphaned objects (older than the grace period, named by no row)."""
    from castsmith.pipelines.cleanup import cleanup_orphans

    container = operator_container(ctx)
    try:
        report = run_or_fail(
            asyncio.run, cleanup_orphans(container, dry_run=dry_run, grace_seconds=grace)
        )
    finally:
        container.close()
    if as_json:
        print_json(
            {
                "dry_run": report.dry_run,
                "scanned": report.scanned,
                "referenced": report.referenced,
                "too_young": report.too_young,
                "kept_by_prefix": report.kept_by_prefix,
                "orphans": [{"key": m.key, "size": m.size} for m in report.orphans],
                "removed": report.removed,
            }
        )
        return
    verb = "would remove" if dry_run else "removed"
    for meta in report.orphans:
        if dry_run or meta.key in report.removed:
            typer.echo(f"{verb}  {meta.key}  ({meta.size} bytes)")
    count = len(report.orphans) if dry_run else len(report.removed)
    typer.echo(
        f"{count} orphaned object(s) {verb}; scanned {report.scanned}, "
        f"{report.referenced} referenced, {report.too_young} within the grace period"
    )


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("cleanup")(cleanup)
