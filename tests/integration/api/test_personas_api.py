"""The persona task routes: input checks, 404s, listing with cursors and status filter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from castsmith.api.app import create_app
from castsmith.config import Settings
from tests.harness import operator_container

TASK_FIELDS = {
    "task_id",
    "status",
    "count",
    "locale",
    "constraints",
    "error_log",
    "job_id",
    "personas",
    "created_at",
    "updated_at",
}


async def _client(tmp_path: Path, url: str) -> AsyncIterator[httpx.AsyncClient]:
    container = operator_container(Settings(data_dir=tmp_path, database_url=url))
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    container.close()


@pytest.fixture
async def client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app without a worker, on each backend: tasks stay pending."""
    async for http in _client(tmp_path, database_url):
        yield http


@pytest.fixture
async def sqlite_client(
    tmp_path: Path, sqlite_database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The same on SQLite only, for checks that do not depend on the database."""
    async for http in _client(tmp_path, sqlite_database_url):
        yield http


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 101}, "count"),
        ({"count": 3, "locale": "klingon"}, "locale"),
        ({"count": 3, "locale": "xx_YY"}, "locale"),
        ({"count": 3, "constraints": {"gender": "robot"}}, "constraints.gender"),
        ({"count": 3, "constraints": {"age_min": 60, "age_max": 30}}, "constraints.age_min"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    sqlite_client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    client = sqlite_client
    answer = await client.post("/api/persona-tasks", json=body)
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    assert field.split(".")[-1] in answer.json()["detail"]
    listed = await client.get("/api/persona-tasks")
    assert listed.json()["items"] == []  # nothing was recorded


async def test_wrong_types_are_422_naming_the_field(sqlite_client: httpx.AsyncClient) -> None:
    client = sqlite_client
    answer = await client.post("/api/persona-tasks", json={"count": "many"})
    assert answer.status_code == 422
    assert "count" in answer.text


async def test_create_show_and_unknown_ids(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/persona-tasks", json={"count": 2, "locale": "de_DE", "constraints": {"gender": "f"}}
    )
    assert answer.status_code == 202
    task = answer.json()
    assert set(task) == TASK_FIELDS
    assert task["status"] == "pending"
    assert task["constraints"] == {"gender": "female"}
    assert task["error_log"] == []
    job = await client.get(f"/api/jobs/{task['job_id']}")
    assert job.json()["kind"] == "persona.task"

    shown = await client.get(f"/api/persona-tasks/{task['task_id']}")
    assert shown.status_code == 200
    assert shown.json()["results"] == []

    missing = await client.get("/api/persona-tasks/no-such-task")
    assert missing.status_code == 404
    assert "no-such-task" in missing.json()["detail"]
    retry = await client.post("/api/persona-tasks/no-such-task/retry-failed")
    assert retry.status_code == 404
    early = await client.post(f"/api/persona-tasks/{task['task_id']}/retry-failed")
    assert early.status_code == 409


async def test_list_pages_newest_first_with_status_filter(client: httpx.AsyncClient) -> None:
    ids = []
    for count in (1, 2, 3, 4, 5):
        answer = await client.post("/api/persona-tasks", json={"count": count})
        ids.append(answer.json()["task_id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/persona-tasks", params=params)).json()
        seen.extend(item["task_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))

    pending = await client.get("/api/persona-tasks", params={"status": "pending"})
    assert len(pending.json()["items"]) == 5
    done = await client.get("/api/persona-tasks", params={"status": "completed"})
    assert done.json()["items"] == []
    bad = await client.get("/api/persona-tasks", params={"status": "sleeping"})
    assert bad.status_code == 422 and bad.json()["field"] == "status"
    bad_cursor = await client.get("/api/persona-tasks", params={"cursor": "garbage"})
    assert bad_cursor.status_code == 422 and bad_cursor.json()["field"] == "cursor"
