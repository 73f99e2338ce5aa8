"""The web login: signed session cookie, CSRF on state-changing requests, generic
failures; and ``auto`` mode needing no login on loopback."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from castsmith.config import Settings
from tests.harness import operator_container
from tests.integration.auth.conftest import PASSWORD, Cast, app_client

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def _login(http: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    return await http.post("/login", data={"username": user, "password": password, "next": "/jobs"})


async def test_wrong_password_or_user_is_401_with_one_message(cast: Cast) -> None:
    wrong = await _login(cast.http, "alice", "not the password")
    nobody = await _login(cast.http, "mallory", PASSWORD)
    assert wrong.status_code == nobody.status_code == 401
    assert "Wrong user name or password." in wrong.text
    assert "Wrong user name or password." in nobody.text
    assert "set-cookie" not in wrong.headers


async def test_session_login_and_csrf(cast: Cast) -> None:
    http = cast.http
    answer = await _login(http, "alice", PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/jobs"
    cookie = answer.headers["set-cookie"]
    assert "castsmith_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Max-Age=" in cookie

    page = await http.get("/jobs")
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found is not None
    token = found.group(1)

    refused = await http.post("/api/actors", json={"name": "Cookie"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    wrong = await http.post("/api/actors", json={"name": "Cookie"}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    made = await http.post("/api/actors", json={"name": "Cookie"}, headers={"X-CSRF-Token": token})
    assert made.status_code == 201
    assert made.json()["owner_id"] == cast.ids["alice"]
    # Reads need no token.
    assert (await http.get("/api/actors")).status_code == 200

    # Plain form posts carry it as a field.
    assert (await http.post("/logout", data={})).status_code == 403
    out = await http.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert (await http.get("/api/actors")).status_code == 401


async def test_bearer_requests_need_no_csrf_token(cast: Cast) -> None:
    answer = await cast.http.post("/api/actors", json={"name": "T"}, headers=cast.auth("bob"))
    assert answer.status_code == 201


async def test_a_tampered_cookie_is_refused(cast: Cast) -> None:
    http = cast.http
    await _login(http, "bob", PASSWORD)
    value = http.cookies["castsmith_session"]
    payload, _, signature = value.partition(".")
    http.cookies.clear()
    http.cookies.set("castsmith_session", payload + "." + signature[:-2] + "AA")
    assert (await http.get("/api/actors")).status_code == 401


async def test_login_redirects_only_to_local_paths(cast: Cast) -> None:
    answer = await cast.http.post(
        "/login", data={"username": "bob", "password": PASSWORD, "next": "//evil.example/"}
    )
    assert answer.headers["location"] == "/"


async def test_auto_needs_no_login_on_loopback_only(
    tmp_path: Path, sqlite_database_url: str
) -> None:
    def settings(host: str) -> Settings:
        return Settings(data_dir=tmp_path, database_url=sqlite_database_url, auth="auto", host=host)

    local = operator_container(settings("127.0.0.1"))
    async with app_client(local) as http:
        assert (await http.get("/api/actors")).status_code == 200
        made = await http.post("/api/actors", json={"name": "Local"})
        assert made.status_code == 201
        assert (await http.get("/")).status_code == 200
    local.close()

    public = operator_container(settings("0.0.0.0"))
    async with app_client(public) as http:
        assert (await http.get("/api/actors")).status_code == 401
        assert (await http.get("/")).status_code == 303
    public.close()

    off = operator_container(
        Settings(data_dir=tmp_path, database_url=sqlite_database_url, auth="off", host="0.0.0.0")
    )
    async with app_client(off) as http:
        assert (await http.get("/api/actors")).status_code == 200
    off.close()


async def test_logout_revokes_the_session_on_the_server(cast: Cast) -> None:
    http = cast.http
    answer = await _login(http, "alice", PASSWORD)
    assert answer.status_code == 303
    kept = http.cookies.get("castsmith_session")
    assert kept
    page = await http.get("/jobs")
    found = CSRF.search(page.text)
    assert found is not None
    # A second login (another browser) is a session of its own.
    async with app_client(cast.container) as other:
        assert (await _login(other, "alice", PASSWORD)).status_code == 303
        assert (await other.get("/api/actors")).status_code == 200
        out = await http.post("/logout", data={"csrf_token": found.group(1)})
        assert out.status_code == 303
        # The copied cookie no longer works, though its signature and expiry are fine.
        copied = await http.get("/api/actors", cookies={"castsmith_session": kept})
        assert copied.status_code == 401
        page = await http.get("/", cookies={"castsmith_session": kept})
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        # The other session stays logged in.
        assert (await other.get("/api/actors")).status_code == 200
