"""Every answer carries a request id; the logs of the request carry the same one."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.responses import StreamingResponse

from castsmith.api.app import create_app
from castsmith.config import Settings
from castsmith.logs import JsonFormatter, request_id_var
from tests.harness import operator_container


@pytest.fixture
async def app(sqlite_database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    container = operator_container(
        Settings(data_dir=tmp_path, database_url=sqlite_database_url, auth="off")
    )
    app = create_app(container)
    seen: list[str | None] = []
    app.state.seen = seen

    @app.get("/test/logs")
    async def logs() -> dict[str, str | None]:
        seen.append(request_id_var.get())
        logging.getLogger("castsmith.test").warning("inside the request")
        return {"id": request_id_var.get()}

    @app.get("/test/fails")
    async def fails() -> None:
        raise RuntimeError("a bug")

    @app.get("/test/fails-late")
    async def fails_late() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"half"
            raise RuntimeError("a bug after the answer started")

        return StreamingResponse(body())

    yield app
    container.close()


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


class Lines(logging.Handler):
    """Keeps each record as castsmith's JSON formatter writes it, when it is written."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


async def test_the_callers_id_comes_back_and_is_the_one_in_the_logs(app: FastAPI) -> None:
    lines = Lines()
    logger = logging.getLogger("castsmith.test")
    logger.addHandler(lines)
    try:
        async with client(app) as http:
            answer = await http.get("/test/logs", headers={"X-Request-Id": "abc-123"})
    finally:
        logger.removeHandler(lines)
    assert answer.status_code == 200
    assert [line["request_id"] for line in lines.lines] == ["abc-123"]
    assert answer.headers["x-request-id"] == "abc-123"
    assert answer.json() == {"id": "abc-123"}
    assert app.state.seen == ["abc-123"]
    assert request_id_var.get() is None  # not left behind after the request


async def test_without_an_id_each_request_gets_a_new_one(app: FastAPI) -> None:
    async with client(app) as http:
        first = await http.get("/healthz")
        second = await http.get("/api/jobs", headers={"X-Request-Id": ""})
        unknown = await http.get("/api/nothing-here")
    ids = [a.headers["x-request-id"] for a in (first, second, unknown)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    assert len(set(ids)) == 3
    # One header each, beside the page headers the outer middleware adds.
    assert [k for k, _ in unknown.headers.raw].count(b"x-request-id") == 1
    assert unknown.status_code == 404
    assert unknown.headers["x-content-type-options"] == "nosniff"


async def test_an_unhandled_error_is_a_logged_500_with_the_id(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="castsmith.api")
    async with client(app) as http:
        answer = await http.get("/test/fails", headers={"X-Request-Id": "r-500"})
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error"}
    assert answer.headers["x-request-id"] == "r-500"
    assert answer.headers["content-security-policy"]
    [record] = [r for r in caplog.records if r.name == "castsmith.api"]
    assert record.getMessage() == "unhandled error"
    assert getattr(record, "path", None) == "/test/fails"
    assert record.exc_info is not None and "a bug" in str(record.exc_info[1])


async def test_an_error_after_the_answer_started_is_not_answered_twice(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        with pytest.raises(RuntimeError, match="after the answer started"):
            await http.get("/test/fails-late")
