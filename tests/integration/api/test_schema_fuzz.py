"""Hostile input: every operation of the OpenAPI spec, fuzzed by schemathesis."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from castsmith.api.app import create_app
from castsmith.auth.tokens import display_prefix, new_token, token_hash
from castsmith.bootstrap import Container, build_container
from castsmith.config import Settings
from castsmith.db.models import Asset
from castsmith.db.repositories.users import UserRepository

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Server-sent event streams never end on their own; they have their own tests below.
STREAMS = r"^/api/(jobs/\{job_id\}/)?events$"


def describe(exc: BaseException) -> str:
    """The failure's message with its sub-failures (status, body, how to reproduce)."""
    if isinstance(exc, BaseExceptionGroup):
        return str(exc) + "".join(f"\n  - {describe(sub)}" for sub in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def fuzz_operation(
    operation: Any, mode: GenerationMode, max_examples: int, headers: dict[str, str] | None
) -> None:
    """Run one operation's generated cases in ``mode``; raise on the first failure."""
    wait_default = next(
        (
            parameter.definition.get("schema", {}).get("default")
            for parameter in operation.query
            if parameter.name == "wait"
        ),
        "absent",
    )
    waits = wait_default != "absent"

    @settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if waits:
            # Nothing runs the queued jobs here: waiting would only sleep and end in the
            # documented 504, so these requests ask for the queued job (202) instead:
            # by leaving ``wait`` out, or by 0 where leaving it out means a long wait.
            query = {k: v for k, v in (case.query or {}).items() if k != "wait"}
            if wait_default:
                query["wait"] = 0
            case.query = query
        case.call_and_validate(checks=CHECKS, headers=headers)

    # Unsatisfiable: nothing in this operation can be made invalid (no parameters).
    with contextlib.suppress(Unsatisfiable):
        run()


def fuzz(schema: Any, max_examples: int, headers: dict[str, str] | None = None) -> list[str]:
    """Run every operation in both modes; return one report per failing operation."""
    failures: list[str] = []
    for result in schema.exclude(path_regex=STREAMS).get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz_operation(operation, mode, max_examples, headers)
            # schemathesis reports check failures as a BaseExceptionGroup.
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} [{mode.value}]: {describe(exc)}")
    return failures


@pytest.fixture
def container(tmp_path: Path, sqlite_database_url: str) -> Iterator[Container]:
    built = build_container(Settings(data_dir=tmp_path, database_url=sqlite_database_url))
    yield built
    built.close()


def test_no_server_errors_and_responses_match_the_spec(container: Container) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container))
    failures = fuzz(schema, max_examples=25)
    assert not failures, "\n\n".join(failures)


async def status_of(app: Any, path: str, headers: dict[str, str]) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return (await client.get(path, headers=headers)).status_code


def test_the_spec_holds_with_auth_required_and_a_bearer_token(
    tmp_path: Path, sqlite_database_url: str
) -> None:
    settings_ = Settings(data_dir=tmp_path, database_url=sqlite_database_url, auth="required")
    built = build_container(settings_)
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
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=bearer)
        failures = fuzz(schema, max_examples=5, headers=bearer)
    finally:
        built.close()
    assert not failures, "\n\n".join(failures)


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
    built = build_container(
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
