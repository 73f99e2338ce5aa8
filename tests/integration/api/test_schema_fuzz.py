"""Hostile input: every operation of the OpenAPI spec, fuzzed by schemathesis."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from castsmith.api.app import create_app
from castsmith.auth.tokens import display_prefix, new_token, token_hash
from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Asset
from castsmith.db.repositories.users import UserRepository
from tests.fuzzing import CHECKS, run_fuzz
from tests.harness import operator_container

# Bounded for ``make test``: each run takes about 15 s on an idle machine and is cut
# at SECONDS on a busy one. benchmarks/fuzz.py runs the same checks for longer.
EXAMPLES = 3
EXAMPLES_WITH_AUTH = 2
SECONDS = 25


@pytest.fixture
def container(tmp_path: Path, sqlite_database_url: str) -> Iterator[Container]:
    built = operator_container(Settings(data_dir=tmp_path, database_url=sqlite_database_url))
    yield built
    built.close()


def test_no_server_errors_and_responses_match_the_spec(container: Container) -> None:
    report = run_fuzz(create_app(container), max_examples=EXAMPLES, max_seconds=SECONDS)
    assert report.failure_count() == 0 and not report.errors, report.describe()
    # It really ran: every check, many cases, undeclared methods answered 405.
    assert len(CHECKS) == 7
    assert report.cases > 300, report.cases
    assert report.statuses[405] > 0 and report.statuses[201] > 0, report.statuses


async def status_of(app: Any, path: str, headers: dict[str, str]) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return (await client.get(path, headers=headers)).status_code


def test_the_spec_holds_with_auth_required_and_a_bearer_token(
    tmp_path: Path, sqlite_database_url: str
) -> None:
    settings_ = Settings(data_dir=tmp_path, database_url=sqlite_database_url, auth="required")
    built = operator_container(settings_)
    try:
        raw = new_token()
        with built.sessions.begin() as session:
            users = UserRepository(session)
            user = users.create("fuzzer")  # not an admin: ownership checks run too
            users.add_token(user, token_hash=token_hash(raw), prefix=display_prefix(raw))
        bearer = {"Authorization": f"Bearer {raw}"}
        app = create_app(built)
        # The token really is accepted, so the fuzz reaches the routes, not only the 401.
        assert asyncio.run(status_of(app, "/api/actors", bearer)) == 200
        assert asyncio.run(status_of(app, "/api/actors", {})) == 401
        # The coverage phase's boundary values and methods, and a few generated cases.
        report = run_fuzz(
            app,
            max_examples=EXAMPLES_WITH_AUTH,
            headers=bearer,
            phases=("coverage", "fuzzing"),
            max_seconds=SECONDS,
        )
    finally:
        built.close()
    assert report.failure_count() == 0 and not report.errors, report.describe()
    # Most answers come from the routes themselves, not from the login check.
    assert report.statuses[401] < report.cases // 10, report.statuses


async def api_client(container: Container) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(container))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_event_streams_refuse_bad_ids_and_end_for_finished_jobs(
    container: Container,
) -> None:
    async with await api_client(container) as client:
        missing = await client.get("/api/jobs/987654/events")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "job 987654 not found"
        for bad in ("abc", "0", str(2**70)):
            answer = await client.get(f"/api/jobs/{bad}/events")
            assert answer.status_code == 422, bad
            assert answer.json()["field"] == "job_id"
        queued = (await client.post("/api/jobs", json={"kind": "diagnostic.sleep"})).json()
        await client.post(f"/api/jobs/{queued['id']}/cancel")
        # A finished job's stream replays its events and ends (the read returns).
        stream = await client.get(f"/api/jobs/{queued['id']}/events")
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert "event: " in stream.text and '"status": "cancelled"' in stream.text


def png(size: tuple[int, int], noisy: bool = False) -> bytes:
    image = Image.new("RGB", size, (120, 80, 200))
    if noisy:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_oversized_uploads_and_decompression_bombs_leave_nothing_behind(
    tmp_path: Path, sqlite_database_url: str
) -> None:
    built = operator_container(
        Settings(
            data_dir=tmp_path,
            database_url=sqlite_database_url,
            max_upload_bytes=100_000,
            max_image_pixels=1_000_000,
        )
    )
    try:
        async with await api_client(built) as client:
            actor = (await client.post("/api/actors", json={"name": "0001_fuzz_20_female"})).json()
            url = f"/api/actors/{actor['id']}/base-image"

            big = png((300, 300), noisy=True)  # about 270 kB of noise
            assert len(big) > 100_000
            answer = await client.put(url, files={"file": ("big.png", big, "image/png")})
            # Refused by the body limit before the route reads it.
            assert answer.status_code == 413
            assert "100000 bytes" in answer.json()["detail"]

            bomb = png((4000, 4000))  # 16 Mpx of one colour: a few kB on the wire
            assert len(bomb) < 100_000
            answer = await client.put(url, files={"file": ("bomb.png", bomb, "image/png")})
            assert answer.status_code == 422
            assert answer.json()["field"] == "file"
            assert "limit" in answer.json()["detail"]

            after = (await client.get(f"/api/actors/{actor['id']}")).json()
            assert after["base_image_url"] is None
        stored = [meta.key async for meta in built.store.list("")]
        assert stored == []
        with built.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Asset)) == 0
    finally:
        built.close()
