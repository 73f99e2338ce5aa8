"""The jobs REST routes and the server-sent event streams, over real HTTP (uvicorn)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from castsmith.api.app import create_app
from castsmith.bootstrap import Container
from castsmith.config import Settings
from tests.harness import operator_container
from tests.services import free_port


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, Container]]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        worker_interval=0.05,
        job_heartbeat_seconds=0.2,
        job_shutdown_grace=0.5,
    )
    container = operator_container(settings)
    app = create_app(container, run_worker=True)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}", container
    instance.should_exit = True
    await task
    container.close()


async def _read_sse(response: httpx.Response, limit: int = 100) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in current:
                events.append(current)
                if len(events) >= limit:
                    break
            current = {}
        elif line.startswith(("id:", "event:", "data:")):
            key, _, value = line.partition(":")
            current[key] = json.loads(value) if key == "data" else value.strip()
    return events


async def test_job_events_stream_in_order_until_the_end(server: tuple[str, Container]) -> None:
    base, _ = server
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        created = await client.post(
            "/api/jobs", json={"kind": "diagnostic.sleep", "payload": {"seconds": 0.4}}
        )
        assert created.status_code == 201
        job_id = created.json()["id"]
        async with client.stream("GET", f"/api/jobs/{job_id}/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = await _read_sse(response)
        ids = [int(e["id"]) for e in events]
        assert ids == sorted(ids)
        kinds = [(e["event"], e["data"]["status"]) for e in events]
        assert kinds[0] == ("status", "queued") and kinds[1] == ("status", "running")
        assert kinds[-1] == ("status", "completed")
        progress = [e["data"]["progress"] for e in events if e["event"] == "progress"]
        assert progress == [25.0, 50.0, 75.0, 100.0]
        assert events[-1]["data"]["result"] == {"slept": 0.4, "attempt": 1}
        # Resuming with Last-Event-ID replays only what came after.
        headers = {"Last-Event-ID": events[-2]["id"]}
        async with client.stream("GET", f"/api/jobs/{job_id}/events", headers=headers) as again:
            rest = await _read_sse(again)
        assert [e["id"] for e in rest] == [events[-1]["id"]]


async def test_all_events_stream_filters_by_kind(server: tuple[str, Container]) -> None:
    base, container = server
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        client.stream("GET", "/api/events?kind=diagnostic.sleep") as response,
    ):
        job = await asyncio.to_thread(container.queue.enqueue, "diagnostic.sleep", {})
        events = await asyncio.wait_for(_read_sse(response, limit=3), 20)
    assert [e["data"]["status"] for e in events] == ["queued", "running", "completed"]
    assert {e["data"]["job_id"] for e in events} == {job.id}


async def test_rest_routes(server: tuple[str, Container]) -> None:
    base, _ = server
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        missing = await client.get("/api/jobs/987654")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "job 987654 not found"
        unknown = await client.post("/api/jobs", json={"kind": "nope"})
        assert unknown.status_code == 422 and "unknown job kind" in unknown.json()["detail"]
        slow = (
            await client.post(
                "/api/jobs",
                json={
                    "kind": "diagnostic.sleep",
                    "payload": {"seconds": 30},
                    "priority": -1,
                    "run_after": "2999-01-01T00:00:00Z",
                },
            )
        ).json()
        cancelled = await client.post(f"/api/jobs/{slow['id']}/cancel")
        assert cancelled.json()["status"] == "cancelled"
        retried = await client.post(f"/api/jobs/{slow['id']}/retry")
        assert retried.json()["status"] == "queued"
        conflict = await client.post(f"/api/jobs/{slow['id']}/retry")
        assert conflict.status_code == 409
        for _ in range(5):
            await client.post("/api/jobs", json={"kind": "diagnostic.sleep"})
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, "kind": "diagnostic.sleep"}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/api/jobs", params=params)).json()
            seen.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == sorted(seen, reverse=True) and len(seen) == 6
        detail = (await client.get(f"/api/jobs/{seen[0]}")).json()
        assert "runs" in detail
        schema = (await client.get("/openapi.json")).json()
        assert "JobDetailOut" in schema["components"]["schemas"]


async def test_a_requests_webhook_url_becomes_its_top_level_jobs_field(
    server: tuple[str, Container],
) -> None:
    base, container = server
    async with httpx.AsyncClient(base_url=base) as client:
        by_query = await client.post(
            "/api/jobs",
            params={"webhook_url": "https://hooks.example.com/q"},
            json={"kind": "diagnostic.sleep"},
        )
        by_header = await client.post(
            "/api/jobs",
            headers={"Webhook-URL": "https://hooks.example.com/h"},
            json={"kind": "diagnostic.sleep"},
        )
        refused = await client.post(
            "/api/jobs",
            params={"webhook_url": "file:///etc/passwd"},
            json={"kind": "diagnostic.sleep"},
        )
        plain = await client.post("/api/jobs", json={"kind": "diagnostic.sleep"})
    assert by_query.status_code == by_header.status_code == plain.status_code == 201
    assert refused.status_code == 422 and "webhook_url" in refused.text
    urls = [container.queue.get(r.json()["id"]).webhook_url for r in (by_query, by_header, plain)]
    assert urls == ["https://hooks.example.com/q", "https://hooks.example.com/h", None]
