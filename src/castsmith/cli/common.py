"""Helpers shared by the CLI's command modules."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer

from castsmith.config import Settings, load_settings
from castsmith.domain.errors import CastsmithError


def settings_from_context(ctx: typer.Context) -> Settings:
    """The settings built by the root callback (global flags applied), or fresh ones."""
    obj = ctx.find_root().obj
    settings = obj.get("settings") if isinstance(obj, dict) else None
    return settings if isinstance(settings, Settings) else load_settings()


def cli_flags(ctx: typer.Context) -> dict[str, Any]:
    """The global flags given on the command line (only those actually set)."""
    obj = ctx.find_root().obj
    if isinstance(obj, dict) and isinstance(obj.get("flags"), dict):
        return dict(obj["flags"])
    return {}


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error for a person and exit non-zero."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    """Print JSON on stdout (stable key order, ISO dates)."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def run_or_fail(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``func``; turn castsmith errors into a clean exit with their message."""
    try:
        return func(*args, **kwargs)
    except CastsmithError as exc:
        fail(str(exc))
