"""System commands: serve, migrate, config show, doctor."""

from __future__ import annotations

import asyncio
import os

import typer
from pydantic import SecretStr

from castsmith.cli.common import cli_flags, fail, print_json, settings_from_context
from castsmith.config import Settings, config_file_path, load_settings
from castsmith.domain.redact import mask_credentials

config_app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Address to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port to listen on (PORT, default 8000)."),
    worker: bool = typer.Option(True, "--worker/--no-worker", help="Run an in-process worker."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Server processes sharing the port (each with its own in-process job worker "
        "unless --no-worker).",
    ),
) -> None:
    """Start the web app and API (with an in-process worker unless --no-worker)."""
    import uvicorn

    from castsmith.api.app import create_app
    from castsmith.bootstrap import build_container
    from castsmith.cli.running import recorded_server
    from castsmith.db.migrate import current_revision, upgrade
    from castsmith.domain.redact import mask_credentials
    from castsmith.logs import configure_logging

    settings = load_settings(**cli_flags(ctx), host=host, port=port)
    configure_logging(settings.log_level, settings.log_json, redact=mask_credentials)
    container = build_container(settings)
    if container.engine.dialect.name == "sqlite" and current_revision(container.engine) is None:
        upgrade(container.engine)
    url = settings.public_base_url
    if workers > 1:
        from castsmith.cli.serving import run_processes

        container.close()  # each server process builds its own
        typer.echo(f"castsmith is running at {url} in {workers} processes", err=True)
        flags = cli_flags(ctx) | {"host": settings.host, "port": settings.port}
        with recorded_server(settings):
            run_processes(
                flags, host=settings.host, port=settings.port, workers=workers, worker=worker
            )
        return
    app = create_app(container, run_worker=worker)
    typer.echo(f"castsmith is running at {url}  (Ctrl+C to stop)", err=True)
    with recorded_server(settings):
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


def migrate(ctx: typer.Context) -> None:
    """Create or upgrade the database schema to this version."""
    from castsmith.bootstrap import build_container
    from castsmith.db.migrate import current_revision, upgrade

    settings = settings_from_context(ctx)
    container = build_container(settings)
    try:
        before = current_revision(container.engine)
        upgrade(container.engine)
        after = current_revision(container.engine)
    except Exception as exc:
        fail(f"migration failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        container.close()
    url = container.engine.url.render_as_string(hide_password=True)
    if before == after:
        typer.echo(f"{url}: already at {after}")
    else:
        typer.echo(f"{url}: upgraded {before or 'empty database'} -> {after}")


def value_source(settings: Settings, name: str, flags: dict[str, object]) -> str:
    """Where a setting's value came from: a CLI flag, an env name, the file, or default."""
    if name in flags:
        return "command-line flag"
    field = Settings.model_fields[name]
    alias = field.validation_alias
    choices = [c for c in getattr(alias, "choices", []) if isinstance(c, str)]
    environ = {key.upper() for key in os.environ}
    for choice in choices:
        if choice.upper() in environ:
            return f"environment {choice.upper()}"
    path = config_file_path()
    if path.exists() and name in settings.model_fields_set:
        return f"file {path}"
    return "default" if name not in settings.model_fields_set else "derived"


def _display(value: object) -> object:
    if isinstance(value, SecretStr):
        return "**********" if value.get_secret_value() else ""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    return mask_credentials(str(value))


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print the effective settings (secrets masked) and where each came from."""
    settings = settings_from_context(ctx)
    flags = cli_flags(ctx)
    rows = [
        (name, _display(getattr(settings, name)), value_source(settings, name, flags))
        for name in Settings.model_fields
    ]
    if as_json:
        print_json({name: {"value": value, "source": source} for name, value, source in rows})
        return
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        typer.echo(f"{name.ljust(width)}  {value!s:<50}  ({source})")


def doctor(ctx: typer.Context) -> None:
    """Check the database and storage and say what is wrong and how to fix it."""
    from castsmith.bootstrap import build_container
    from castsmith.checks import check_database, check_storage

    settings = settings_from_context(ctx)
    try:
        container = build_container(settings)
    except Exception as exc:
        fail(f"cannot start: {exc}")

    async def run_checks() -> list[object]:
        return [await check_database(container), await check_storage(container, write=True)]

    results = asyncio.run(run_checks())
    container.close()
    failed = 0
    for result in results:
        ok = getattr(result, "ok", False)
        mark = "ok  " if ok else "FAIL"
        typer.echo(f"[{mark}] {result.name}: {result.detail}")  # type: ignore[attr-defined]
        if not ok:
            failed += 1
            typer.echo(f"       fix: {result.fix}")  # type: ignore[attr-defined]
    if failed:
        raise typer.Exit(1)
    typer.echo("everything looks fine")


def register(app: typer.Typer) -> None:
    """Add the system commands to the root app."""
    app.command()(serve)
    app.command()(migrate)
    app.command()(doctor)
    app.add_typer(config_app, name="config")
