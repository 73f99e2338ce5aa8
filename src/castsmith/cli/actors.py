"""``castsmith actors ...``, ``castsmith import ...`` and ``castsmith export ...``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from castsmith.cli.common import (
    fail,
    print_json,
    read_image_file,
    resolve_actor_id,
    run_in_container,
)

if TYPE_CHECKING:
    from castsmith.bootstrap import Container

actors_app = typer.Typer(help="List, show, create and remove actors.", no_args_is_help=True)
import_app = typer.Typer(help="Import actorsData.json and manifests.", no_args_is_help=True)
export_app = typer.Typer(help="Export actorsData.json and manifests.", no_args_is_help=True)


def _line(actor: dict[str, Any]) -> str:
    flags = "L" if actor["lora"] else "-"
    flags += "P" if actor["poster_frames"] else "-"
    flags += "B" if actor["base_image_url"] else "-"
    return f"{actor['id']:>6}  {flags}  {actor['name']}"


@actors_app.command("list")
def list_actors(
    ctx: typer.Context,
    q: str | None = typer.Option(None, "--q", "-q", help="Search name and description."),
    actor_type: str | None = typer.Option(None, "--type"),
    sex: str | None = typer.Option(None, "--sex"),
    has_lora: bool | None = typer.Option(None, "--has-lora/--no-lora"),
    has_poster: bool | None = typer.Option(None, "--has-poster/--no-poster"),
    deleted: bool = typer.Option(False, "--deleted", help="List soft-deleted actors."),
    limit: int = typer.Option(50, "--limit"),
    cursor: str | None = typer.Option(None, "--cursor"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List actors (flags: L = LoRA, P = poster, B = base image)."""
    from castsmith.db.repositories.actors import ActorFilters
    from castsmith.pipelines import actors as use

    filters = ActorFilters(
        q=q,
        actor_type=actor_type,
        sex=sex,
        has_lora=has_lora,
        has_poster=has_poster,
        deleted=deleted,
    )
    page = run_in_container(ctx, lambda c: use.list_actors(c, filters, cursor=cursor, limit=limit))
    if as_json:
        print_json(page)
        return
    for actor in page["items"]:
        typer.echo(_line(actor))
    typer.echo(f"{len(page['items'])} of {page['total']}")
    if page["next_cursor"]:
        typer.echo(f"more: --cursor {page['next_cursor']}")


@actors_app.command("show")
def show(
    ctx: typer.Context, actor_id: int, as_json: bool = typer.Option(True, "--json/--text")
) -> None:
    """Show one actor."""
    from castsmith.pipelines import actors as use

    actor = run_in_container(ctx, lambda c: use.get_actor(c, actor_id))
    if as_json:
        print_json(actor)
    else:
        typer.echo(_line(actor))


@actors_app.command("create")
def create(
    ctx: typer.Context,
    name: str,
    description: str = typer.Option("", "--description"),
    sex: str | None = typer.Option(None, "--sex"),
    age: int | None = typer.Option(None, "--age"),
    ethnicity: str | None = typer.Option(None, "--ethnicity"),
    actor_type: str | None = typer.Option(None, "--type"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create an actor."""
    from castsmith.pipelines import actors as use

    fields: dict[str, Any] = {"name": name, "description": description}
    for key, value in {
        "sex": sex,
        "age": age,
        "ethnicity": ethnicity,
        "actor_type": actor_type,
    }.items():
        if value is not None:
            fields[key] = value
    actor = run_in_container(ctx, lambda c: use.create_actor(c, fields))
    if as_json:
        print_json(actor)
    else:
        typer.echo(f"created actor {actor['id']} {actor['name']}")


@actors_app.command("update")
def update(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    description: str | None = typer.Option(None, "--description"),
    identity_threshold: float | None = typer.Option(
        None,
        "--identity-threshold",
        help="The actor's own identity threshold for the curation checks (0-2; dlib's is 0.6).",
    ),
    clear_identity_threshold: bool = typer.Option(
        False, "--clear-identity-threshold", help="Go back to the configured threshold."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Change an actor's description or curation identity threshold."""
    from castsmith.pipelines import actors as use

    fields: dict[str, Any] = {}
    if description is not None:
        fields["description"] = description
    if identity_threshold is not None and clear_identity_threshold:
        fail("give --identity-threshold or --clear-identity-threshold, not both")
    if identity_threshold is not None or clear_identity_threshold:
        fields["curation_identity_threshold"] = identity_threshold
    if not fields:
        fail("nothing to change: give --description or --identity-threshold")

    async def work(container: Container) -> dict[str, Any]:
        return await use.update_actor(container, await resolve_actor_id(container, actor), fields)

    shown = run_in_container(ctx, work)
    if as_json:
        print_json(shown)
    else:
        threshold = shown["curation_identity_threshold"]
        typer.echo(
            f"updated actor {shown['id']} {shown['name']}; identity threshold: "
            + (f"{threshold:g}" if threshold is not None else "the configured one")
        )


@actors_app.command("base-image")
def base_image(
    ctx: typer.Context,
    actor: str = typer.Argument(..., help="Actor id or name."),
    file: Path | None = typer.Option(None, "--file", help="An image file to use."),
    url: str | None = typer.Option(None, "--url", help="A public image URL to fetch."),
    generate: bool = typer.Option(
        False, "--generate", help="Draw one with the default image provider."
    ),
) -> None:
    """Give an actor a base image: from a file, a URL, or generated.

    The earlier base image is kept in storage; the actor points at the new one.
    """
    from castsmith.pipelines import actors as use

    chosen = [
        name
        for name, given in (("--file", file), ("--url", url), ("--generate", generate))
        if given
    ]
    if len(chosen) != 1:
        fail("give exactly one of --file FILE, --url URL or --generate")
    data = read_image_file(file) if file is not None else None

    async def work(container: Container) -> dict[str, Any]:
        actor_id = await resolve_actor_id(container, actor)
        if data is not None:
            return await use.set_base_image(container, actor_id, data, field="--file")
        if url is not None:
            return await use.base_image_from_url(container, actor_id, url)
        return await use.generate_base_image(container, actor_id)

    shown = run_in_container(ctx, work)
    typer.echo(f"base image of {shown['name']}: {shown['base_image_url']}")


@actors_app.command("delete")
def delete(ctx: typer.Context, actor_id: int) -> None:
    """Soft-delete an actor (restorable; files are kept)."""
    from castsmith.pipelines import actors as use

    run_in_container(ctx, lambda c: use.delete_actor(c, actor_id))
    typer.echo(f"deleted actor {actor_id} (restore with: castsmith actors restore {actor_id})")


@actors_app.command("restore")
def restore(ctx: typer.Context, actor_id: int) -> None:
    """Bring back a soft-deleted actor."""
    from castsmith.pipelines import actors as use

    actor = run_in_container(ctx, lambda c: use.restore_actor(c, actor_id))
    typer.echo(f"restored actor {actor['id']} {actor['name']}")


@actors_app.command("purge")
def purge(
    ctx: typer.Context,
    actor_id: int,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove an actor, its records and its stored files for good."""
    from castsmith.pipelines import actors as use

    if not yes:
        typer.confirm(f"Remove actor {actor_id} and all its files for good?", abort=True)
    keys = run_in_container(ctx, lambda c: use.purge_actor(c, actor_id))
    typer.echo(f"purged actor {actor_id} and {len(keys)} stored objects")


@import_app.command("actors-data")
def import_actors_data(ctx: typer.Context, file: Path) -> None:
    """Create or update actors from an actorsData.json file."""
    from castsmith.pipelines.actors import interchange

    counts = run_in_container(ctx, lambda c: interchange.import_actors_data_file(c, file))
    typer.echo(
        f"{counts['created']} created, {counts['updated']} updated, "
        f"{counts['posters']} poster sets recorded"
    )


@import_app.command("manifests")
def import_manifests(ctx: typer.Context, folder: Path) -> None:
    """Record the training images listed in every *_manifest.json of FOLDER."""
    from castsmith.pipelines.actors import manifests

    ids = run_in_container(ctx, lambda c: manifests.import_manifests_dir(c, folder))
    typer.echo(f"imported {len(ids)} manifests")


@export_app.command("actors-data")
def export_actors_data(ctx: typer.Context, file: Path) -> None:
    """Write every live actor to an actorsData.json file."""
    from castsmith.pipelines.actors import interchange

    count = run_in_container(ctx, lambda c: interchange.export_actors_data_file(c, file))
    typer.echo(f"wrote {count} actors to {file}")


@export_app.command("manifests")
def export_manifests(ctx: typer.Context, folder: Path) -> None:
    """Write {character_id}_manifest.json for every actor with training data."""
    from castsmith.pipelines.actors import manifests

    paths = run_in_container(ctx, lambda c: manifests.export_manifests_dir(c, folder))
    for path in paths:
        typer.echo(str(path))
    typer.echo(f"wrote {len(paths)} manifests")


def register(app: typer.Typer) -> None:
    """Add the actors, import and export command groups to the root app."""
    app.add_typer(actors_app, name="actors")
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
