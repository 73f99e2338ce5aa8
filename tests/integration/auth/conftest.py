"""An app with ``CASTSMITH_AUTH=required`` and three users: alice, bob and the admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from castsmith.api.app import create_app
from castsmith.auth.passwords import hash_password
from castsmith.auth.tokens import display_prefix, new_token, token_hash
from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.repositories.users import UserRepository
from tests.harness import operator_container

PASSWORD = "correct horse battery"


@dataclass
class Cast:
    """The app, its container and a bearer token per user."""

    container: Container
    http: httpx.AsyncClient
    tokens: dict[str, str]
    ids: dict[str, int]

    def auth(self, user: str) -> dict[str, str]:
        """Headers acting as ``user``."""
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def add_user(container: Container, name: str, *, admin: bool = False) -> tuple[int, str]:
    """Create ``name`` with the test password and a token; return its id and the token."""
    raw = new_token()
    with container.sessions.begin() as session:
        repo = UserRepository(session)
        user = repo.create(name, admin=admin, password_hash=hash_password(PASSWORD))
        repo.add_token(user, token_hash=token_hash(raw), prefix=display_prefix(raw), name="test")
        return user.id, raw


def app_client(container: Container) -> httpx.AsyncClient:
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=create_app(container))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def make_cast(tmp_path: Path, url: str, **settings: object) -> AsyncIterator[Cast]:
    """The app on ``url`` with auth required and three users."""
    options: dict[str, object] = {"auth": "required", **settings}
    container = operator_container(Settings(data_dir=tmp_path, database_url=url, **options))
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    for name, admin in (("alice", False), ("bob", False), ("root", True)):
        ids[name], tokens[name] = add_user(container, name, admin=admin)
    async with app_client(container) as http:
        yield Cast(container, http, tokens, ids)
    container.close()


@pytest.fixture
async def cast(tmp_path: Path, database_url: str) -> AsyncIterator[Cast]:
    """Auth required, on SQLite and on PostgreSQL."""
    async for value in make_cast(tmp_path, database_url):
        yield value


@pytest.fixture
async def sqlite_cast(tmp_path: Path, sqlite_database_url: str) -> AsyncIterator[Cast]:
    """Auth required, on SQLite only (checks that do not depend on the database)."""
    async for value in make_cast(tmp_path, sqlite_database_url):
        yield value
