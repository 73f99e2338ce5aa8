"""The ``castsmith`` command line."""

from __future__ import annotations

from pathlib import Path

import typer

from castsmith.cli import (
    actors,
    cleanup,
    costs,
    jobs,
    lora,
    personas,
    posters,
    references,
    system,
    training,
    users,
)
from castsmith.cli.providers import generate, providers_app
from castsmith.cli.running import running_base_url
from castsmith.cli.system import value_source
from castsmith.config import load_settings

app = typer.Typer(
    name="castsmith",
    help="Build and keep libraries of consistent AI characters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    database_url: str | None = typer.Option(
        None, "--database-url", help="Database URL (CASTSMITH_DATABASE_URL)."
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Folder for the SQLite file and local storage."
    ),
    storage_backend: str | None = typer.Option(
        None, "--storage-backend", help="local or s3 (CASTSMITH_STORAGE_BACKEND)."
    ),
) -> None:
    """Global options apply to every command and win over the environment."""
    flags = {
        "database_url": database_url,
        "data_dir": data_dir,
        "storage_backend": storage_backend,
    }
    ctx.obj = {"flags": {k: v for k, v in flags.items() if v is not None}}
    settings = load_settings(**ctx.obj["flags"])
    if value_source(settings, "public_base_url", ctx.obj["flags"]) in {"default", "derived"}:
        # Links printed here should open on the server actually running on this data.
        running = running_base_url(settings)
        if running:
            settings = settings.model_copy(update={"public_base_url": running})
    ctx.obj["settings"] = settings


system.register(app)
actors.register(app)
jobs.register(app)
posters.register(app)
training.register(app)
lora.register(app)
personas.register(app)
references.register(app)
users.register(app)
cleanup.register(app)
costs.register(app)
app.command("generate")(generate)
app.add_typer(providers_app, name="providers")


def main() -> None:
    """Console-script entry point."""
    app()
