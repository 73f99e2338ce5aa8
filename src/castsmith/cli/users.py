"""``castsmith users ...`` and ``castsmith tokens ...``: accounts and API tokens.

Tokens are printed once, when made; only their SHA-256 is stored.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import typer

from castsmith.cli.common import fail, print_json, run_or_fail, settings_from_context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from castsmith.db.repositories.users import UserRepository

users_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
T = TypeVar("T")

MIN_PASSWORD = 8


@contextmanager
def _session(ctx: typer.Context) -> Iterator[Session]:
    from castsmith.db.engine import make_engine, make_session_factory

    engine = make_engine(settings_from_context(ctx).database_url)
    try:
        with make_session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def _in_transaction(ctx: typer.Context, work: Callable[[UserRepository], T]) -> T:
    from castsmith.db.repositories.users import UserRepository

    def run() -> T:
        with _session(ctx) as session:
            return work(UserRepository(session))

    result: T = run_or_fail(run)
    return result


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        fail(f"the password must have at least {MIN_PASSWORD} characters")
    return password


@users_app.command("create")
def create_user(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name (letters, digits, . _ @ -)."),
    admin: bool = typer.Option(False, "--admin", help="Admins see and change everything."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password for the web login from stdin."
    ),
) -> None:
    """Create a user (with a web password when --password-stdin is given)."""
    from castsmith.auth.passwords import hash_password

    hashed = hash_password(_read_password()) if password_stdin else None
    user_id = _in_transaction(
        ctx, lambda repo: repo.create(name, admin=admin, password_hash=hashed).id
    )
    typer.echo(f"created user {name} (id {user_id}, {'admin' if admin else 'user'})")


@users_app.command("list")
def list_users(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Every user with role, status and whether a password is set."""

    def read(repo: UserRepository) -> list[dict[str, object]]:
        return [
            {
                "id": u.id,
                "username": u.username,
                "role": u.role,
                "disabled": u.disabled,
                "password": bool(u.password_hash),
                "created_at": u.created_at,
            }
            for u in repo.all()
        ]

    rows = _in_transaction(ctx, read)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = "disabled" if row["disabled"] else "active"
        typer.echo(f"{row['id']:>6}  {row['username']:<30} {row['role']:<6} {state}")


@users_app.command("disable")
def disable_user(ctx: typer.Context, name: str = typer.Argument(..., help="User name.")) -> None:
    """Disable a user: their tokens and sessions stop working at once."""
    _in_transaction(ctx, lambda repo: repo.set_disabled(name, True).id)
    typer.echo(f"disabled user {name}")


@users_app.command("enable")
def enable_user(ctx: typer.Context, name: str = typer.Argument(..., help="User name.")) -> None:
    """Enable a disabled user again."""
    _in_transaction(ctx, lambda repo: repo.set_disabled(name, False).id)
    typer.echo(f"enabled user {name}")


@users_app.command("set-password")
def set_password(ctx: typer.Context, name: str = typer.Argument(..., help="User name.")) -> None:
    """Set a user's web password, read from stdin."""
    from castsmith.auth.passwords import hash_password

    hashed = hash_password(_read_password())
    _in_transaction(ctx, lambda repo: repo.set_password_hash(name, hashed).id)
    typer.echo(f"password set for {name}")


@tokens_app.command("create")
def create_token(
    ctx: typer.Context,
    user: str = typer.Option(..., "--user", help="The token acts as this user."),
    name: str = typer.Option("", "--name", help="A label to tell tokens apart."),
    expires_days: float | None = typer.Option(
        None, "--expires-days", help="Days until the token stops working (default: never)."
    ),
) -> None:
    """Make a token and print it once: it cannot be shown again."""
    from castsmith.auth.tokens import display_prefix, new_token, token_hash

    raw = new_token()

    def write(repo: UserRepository) -> int:
        owner = repo.require(user)
        token = repo.add_token(
            owner,
            token_hash=token_hash(raw),
            prefix=display_prefix(raw),
            name=name,
            expires_days=expires_days,
        )
        return token.id

    token_id = _in_transaction(ctx, write)
    typer.echo(raw)
    typer.echo(f"token {token_id} for {user}; store it now, it is not shown again", err=True)


@tokens_app.command("list")
def list_tokens(
    ctx: typer.Context,
    user: str | None = typer.Option(None, "--user", help="Only this user's tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Tokens (by prefix, never in full) with their state."""

    from castsmith.db.repositories.users import token_state

    def read(repo: UserRepository) -> list[dict[str, object]]:
        owner = repo.require(user) if user else None
        return [
            {
                "id": t.id,
                "user": username,
                "name": t.name,
                "prefix": t.prefix,
                "state": token_state(t),
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
                "expires_at": t.expires_at,
            }
            for t, username in repo.tokens(owner)
        ]

    rows = _in_transaction(ctx, read)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        label = f"  {row['name']}" if row["name"] else ""
        typer.echo(f"{row['id']:>6}  {row['prefix']}…  {row['user']:<20} {row['state']}{label}")


@tokens_app.command("revoke")
def revoke_token(ctx: typer.Context, token_id: int = typer.Argument(..., help="Token id.")) -> None:
    """Revoke a token for good."""
    _in_transaction(ctx, lambda repo: repo.revoke(token_id).id)
    typer.echo(f"revoked token {token_id}")


def register(app: typer.Typer) -> None:
    """Add ``users`` and ``tokens`` to the root command."""
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
