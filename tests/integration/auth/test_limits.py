"""One body limit for every route, enforced while the body streams in: 413, and
nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.auth.conftest import Cast, make_cast

LIMIT = 100_000


@pytest.fixture
async def small(tmp_path: Path, database_url: str) -> AsyncIterator[Cast]:
    """Auth required and a 100 kB upload limit, on both databases."""
    async for value in make_cast(tmp_path, database_url, max_upload_bytes=LIMIT):
        yield value


async def _chunks(total: int, piece: bytes) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield piece
        sent += len(piece)


async def test_every_route_refuses_a_body_over_the_limit(small: Cast) -> None:
    http, alice = small.http, small.auth("alice")
    assert (await http.post("/api/video-jobs", json={"id": "clip"}, headers=alice)).is_success
    big = b"x" * (LIMIT * 3)
    upload = await http.put(
        "/api/video-jobs/clip/assets/big.bin",
        files={"file": ("big.bin", big, "application/octet-stream")},
        headers=alice,
    )
    assert upload.status_code == 413, upload.text
    assert f"{LIMIT} bytes" in upload.json()["detail"]

    # A JSON body with no Content-Length (chunked) is cut off while it streams.
    streamed = await http.post(
        "/api/actors",
        content=_chunks(LIMIT * 50, b'{"name": "' + b"a" * 8192),
        headers={**alice, "content-type": "application/json"},
    )
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["error"] == "ContentTooLarge"
    # A declared length over the limit is refused before the body is read.
    declared = await http.post(
        "/api/persona-tasks",
        content=b"{" + b" " * (LIMIT * 2) + b"}",
        headers={**alice, "content-type": "application/json"},
    )
    assert declared.status_code == 413

    # Nothing of it was kept.
    assert (await http.get("/api/actors", headers=alice)).json()["items"] == []
    assert [m.key async for m in small.container.store.list("videos/")] == []
    # A body under the limit still goes through.
    ok = await http.put(
        "/api/video-jobs/clip/assets/small.bin",
        files={"file": ("small.bin", b"x" * (LIMIT - 10), "application/octet-stream")},
        headers=alice,
    )
    assert ok.status_code == 201, ok.text


async def test_a_cookie_form_over_the_limit_is_refused_before_the_csrf_check(
    small: Cast,
) -> None:
    http = small.http
    login = await http.post(
        "/login", data={"username": "alice", "password": "correct horse battery"}
    )
    assert login.status_code in (200, 303), login.text
    answer = await http.post(
        "/logout",
        content=_chunks(LIMIT * 5, b"a=" + b"b" * 8190),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code in (403, 413), answer.text


async def test_lora_uploads_have_their_own_larger_limit(small: Cast) -> None:
    http, alice = small.http, small.auth("alice")
    actor = (await http.post("/api/actors", json={"name": "Ada"}, headers=alice)).json()["id"]
    weights = b"\x00" * (LIMIT * 3)  # over the general limit, far under the LoRA one
    answer = await http.post(
        f"/api/actors/{actor}/lora",
        files={"file": ("w.safetensors", weights, "application/octet-stream")},
        headers=alice,
    )
    # Read in full and judged by the route (not a valid safetensors file), not cut off.
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] != "ContentTooLarge"
