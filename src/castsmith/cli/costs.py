"""``castsmith costs``: what provider calls cost, per provider, actor, persona task or day."""

from __future__ import annotations

import typer

from castsmith.cli.common import print_json, run_in_container


def costs(
    ctx: typer.Context,
    by: str = typer.Option(
        "provider", "--by", help="Group by: provider, actor, day, persona_task or job."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Only calls since 2026-12-01, a date-time, or 7d / 24h ago."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Totals from the cost ledger: calls by how they ended, billed time, images, cost."""
    from castsmith.pipelines.costs import cost_report

    report = run_in_container(ctx, lambda container: cost_report(container, by, since))
    if as_json:
        print_json(report)
        return
    rows = report["rows"]
    if not rows:
        typer.echo("no provider calls recorded" + (f" since {since}" if since else ""))
        return
    header = f"{by:<24} {'calls':>6} {'ok':>5} {'failed':>6} {'cancel':>6} "
    typer.echo(header + f"{'seconds':>9} {'images':>6} {'cost':>11}")
    for row in rows:
        typer.echo(
            f"{row['key'] or '-'!s:<24} {row['calls']:>6} {row['succeeded']:>5} "
            f"{row['failed']:>6} {row['cancelled']:>6} {row['seconds']:>9.1f} "
            f"{row['images']:>6} {row['cost']:>11.4f}"
        )
    total = report["total"]
    typer.echo(
        f"{'total':<24} {total['calls']:>6} {'':>38} {total['cost']:>11.4f} {report['currency']}"
    )


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("costs")(costs)
