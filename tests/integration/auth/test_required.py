"""With auth required: every API route answers 401 without a token, pages redirect to
/login, public routes stay public, and only live tokens of enabled users work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import select, text, update

from castsmith.api.app import create_app
from castsmith.auth.policy import is_public
from castsmith.auth.tokens import token_hash
from castsmith.db.models import ApiToken
from castsmith.db.repositories.users import UserRepository
from tests.integration.auth.conftest import Cast

PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def _routes(cast: Cast) -> list[tuple[str, str]]:
    app = create_app(cast.container)
    found = []
    for path, route in _walk(app.routes):
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods or ()):
            found.append((method, PARAM.sub("1", path)))
    return found


def _walk(routes: list[Any]) -> Iterator[tuple[str, Any]]:
    """Every route with its full path, also inside included routers."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                yield context.path, context.original_route
        elif hasattr(route, "path"):
            yield route.path, route


async def test_no_token_is_401_on_every_api_route(cast: Cast) -> None:
    checked = 0
    for method, path in _routes(cast):
        if not path.startswith("/api/") or is_public(path):
            continue
        answer = await cast.http.request(method, path)
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.headers["www-authenticate"].startswith("Bearer")
        checked += 1
    assert checked > 30


async def test_pages_redirect_to_login(sqlite_cast: Cast) -> None:
    cast = sqlite_cast
    pages = [p for m, p in _routes(cast) if m == "GET" and not p.startswith("/api/")]
    pages = [p for p in pages if not is_public(p)]
    assert "/" in pages and "/jobs" in pages
    for path in pages:
        answer = await cast.http.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=")
    answer = await cast.http.get("/jobs?view=failed")
    assert answer.headers["location"] == "/login?next=%2Fjobs%3Fview%3Dfailed"


async def test_public_routes_stay_public(sqlite_cast: Cast) -> None:
    http = sqlite_cast.http
    assert (await http.get("/healthz")).status_code == 200
    login = await http.get("/login")
    assert login.status_code == 200
    assert 'name="password"' in login.text
    # A file link without a signature is refused for its signature, not for a login.
    answer = await http.get("/files/actors/x/poster.webp")
    assert answer.status_code == 403
    assert "not signed" in answer.json()["detail"]


async def test_a_live_token_works(cast: Cast) -> None:
    answer = await cast.http.get("/api/actors", headers=cast.auth("alice"))
    assert answer.status_code == 200


async def test_wrong_revoked_expired_and_disabled_tokens_are_401(cast: Cast) -> None:
    http = cast.http
    bad = await http.get("/api/actors", headers={"Authorization": "Bearer cst_not-a-token"})
    assert bad.status_code == 401
    basic = await http.get("/api/actors", headers={"Authorization": "Basic YWxpY2U6eA=="})
    assert basic.status_code == 401

    with cast.container.sessions.begin() as session:
        token = session.scalars(
            select(ApiToken).where(ApiToken.token_hash == token_hash(cast.tokens["alice"]))
        ).one()
        UserRepository(session).revoke(token.id)
    assert (await http.get("/api/actors", headers=cast.auth("alice"))).status_code == 401

    with cast.container.sessions.begin() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == token_hash(cast.tokens["bob"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert (await http.get("/api/actors", headers=cast.auth("bob"))).status_code == 401

    assert (await http.get("/api/actors", headers=cast.auth("root"))).status_code == 200
    with cast.container.sessions.begin() as session:
        UserRepository(session).set_disabled("root")
    assert (await http.get("/api/actors", headers=cast.auth("root"))).status_code == 401


async def test_tokens_are_stored_hashed(cast: Cast) -> None:
    await cast.http.get("/api/actors", headers=cast.auth("alice"))
    with cast.container.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_tokens")).all()
        users = conn.execute(text("SELECT * FROM users")).all()
    stored = " ".join(str(value) for row in [*rows, *users] for value in row)
    for raw in cast.tokens.values():
        assert raw not in stored
        assert raw[8:] not in stored
        assert token_hash(raw) in stored
    with cast.container.sessions() as session:
        used = session.scalars(
            select(ApiToken.last_used_at).where(
                ApiToken.token_hash == token_hash(cast.tokens["alice"])
            )
        ).one()
    assert used is not None
