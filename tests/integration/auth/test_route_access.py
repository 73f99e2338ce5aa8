"""Every route that names something by id keeps another user out.

The app's routes are enumerated: a route with a path parameter, or a route whose body
names an owned row, must have a probe here. Each probe is sent as Bob against Alice's
data and must answer 404 (as for an id that does not exist); afterwards Alice's data
is exactly as before. A route added later without a probe fails
``test_every_route_taking_an_id_has_a_probe``.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from PIL import Image

from castsmith.api.app import create_app
from castsmith.jobs.worker import Worker
from tests.harness import WORKER_DEFAULTS, wait_job
from tests.integration.auth.conftest import Cast
from tests.integration.auth.test_ownership import _reference

# Routes whose authorization is a signature in the link, not the caller: anyone holding
# the link may open it, logged in or not (see SECURITY.md). Without one: 403.
SIGNED = {("GET", "/files/{key:path}"), ("GET", "/api/mv/character_reference_file/{image_id}")}
# Routes that take no id in their path but name owned rows in their body.
BODY_IDS = {
    ("POST", "/api/poster-frames/regenerate"),
    ("POST", "/api/mv/generate_character_reference"),
    ("POST", "/api/jobs"),
}


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app serves, routers included."""

    def walk(items: list[Any]) -> Iterator[Any]:
        for route in items:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:
                yield from contexts()
            else:
                yield route

    for route in walk(list(app.routes)):
        for method in sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"}):
            yield method, str(getattr(route, "path", ""))


@dataclass
class World:
    """Alice's things, one of each kind, and their ids."""

    actor: int
    poster_job: int
    version: int
    item: int
    task: str
    image: str
    video: str
    lora: int


def safetensors() -> bytes:
    """A minimal valid ``.safetensors`` file: one float32 tensor."""
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": {}}
    ).encode()
    return len(header).to_bytes(8, "little") + header + b"\x00\x00\x80\x3f"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 128), (200, 120, 90)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
async def world(cast: Cast) -> AsyncIterator[World]:
    worker = Worker(
        cast.container.queue, cast.container.registry, services=cast.container, **WORKER_DEFAULTS
    )
    running = asyncio.create_task(worker.run())
    http, alice = cast.http, cast.auth("alice")
    try:
        actor = (
            await http.post(
                "/api/actors", json={"name": "Ada", "description": "a painter"}, headers=alice
            )
        ).json()["id"]
        base = await http.put(
            f"/api/actors/{actor}/base-image",
            files={"file": ("a.png", png(), "image/png")},
            headers=alice,
        )
        assert base.status_code == 200, base.text
        poster = await http.post(f"/api/actors/{actor}/regenerate-poster-frame", headers=alice)
        poster_job = poster.json()["job_id"]
        assert (await wait_job(cast.container, poster_job)).status == "completed"
        single = await http.post(
            f"/api/actors/{actor}/training-data/generate-single?wait=60",
            json={"prompt": "a portrait in soft light"},
            headers=alice,
        )
        assert single.is_success, single.text
        if "job_id" in single.json():
            await wait_job(cast.container, single.json()["job_id"])
        items = (await http.get(f"/api/actors/{actor}/training-data", headers=alice)).json()
        item = items["training_data"][0]["id"]
        task = (await http.post("/api/persona-tasks", json={"count": 1}, headers=alice)).json()
        image = await _reference(cast, "alice")
        video = (await http.post("/api/video-jobs", json={"id": "clip"}, headers=alice)).json()
        await http.put(
            "/api/video-jobs/clip/assets/notes.txt",
            files={"file": ("notes.txt", b"scene", "text/plain")},
            headers=alice,
        )
        await http.post(
            "/api/video-jobs/clip/character-references", json={"image_ids": [image]}, headers=alice
        )
        versions = (await http.get(f"/api/actors/{actor}/poster-frames", headers=alice)).json()
        version = versions["items"][0]["version"]
        await wait_job(cast.container, task["job_id"]) if task.get("job_id") else None
        lora = await http.post(
            f"/api/actors/{actor}/lora",
            files={"file": ("a.safetensors", safetensors(), "application/octet-stream")},
            data={"trigger_word": "ohwx"},
            headers=alice,
        )
        assert lora.status_code == 201, lora.text
        yield World(
            actor, poster_job, version, item, task["task_id"], image, video["id"], lora.json()["id"]
        )
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)


def probes(w: World) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """For each route: the concrete path Bob sends, and its body."""
    a, j, t, i, v = w.actor, w.poster_job, w.task, w.image, w.video
    none: dict[str, Any] = {}
    return {
        ("GET", "/api/actors/{actor_id}"): (f"/api/actors/{a}", none),
        ("PATCH", "/api/actors/{actor_id}"): (f"/api/actors/{a}", {"json": {"age": 99}}),
        ("DELETE", "/api/actors/{actor_id}"): (f"/api/actors/{a}", none),
        ("POST", "/api/actors/{actor_id}/restore"): (f"/api/actors/{a}/restore", none),
        ("PUT", "/api/actors/{actor_id}/base-image"): (
            f"/api/actors/{a}/base-image",
            {"files": {"file": ("b.png", png(), "image/png")}},
        ),
        ("POST", "/api/actors/{actor_id}/base-image/from-url"): (
            f"/api/actors/{a}/base-image/from-url",
            {"json": {"url": "https://example.org/a.png"}},
        ),
        ("POST", "/api/actors/{actor_id}/base-image/generate"): (
            f"/api/actors/{a}/base-image/generate",
            {"json": {}},
        ),
        ("GET", "/api/actors/{actor_id}/manifest"): (f"/api/actors/{a}/manifest", none),
        ("POST", "/api/actors/{actor_id}/regenerate-poster-frame"): (
            f"/api/actors/{a}/regenerate-poster-frame",
            none,
        ),
        ("GET", "/api/actors/{actor_id}/poster-frames"): (f"/api/actors/{a}/poster-frames", none),
        ("GET", "/api/actors/{actor_id}/poster-defaults"): (
            f"/api/actors/{a}/poster-defaults",
            none,
        ),
        ("PUT", "/api/actors/{actor_id}/poster-defaults"): (
            f"/api/actors/{a}/poster-defaults",
            {"json": {"steps": 9, "seed": 1}},
        ),
        ("POST", "/api/actors/{actor_id}/poster-frames/{version}/make-current"): (
            f"/api/actors/{a}/poster-frames/{w.version}/make-current",
            none,
        ),
        ("GET", "/api/jobs/{job_id}"): (f"/api/jobs/{j}", none),
        ("POST", "/api/jobs/{job_id}/cancel"): (f"/api/jobs/{j}/cancel", none),
        ("POST", "/api/jobs/{job_id}/retry"): (f"/api/jobs/{j}/retry", none),
        ("GET", "/api/jobs/{job_id}/events"): (f"/api/jobs/{j}/events", none),
        ("GET", "/api/persona-tasks/{task_id}"): (f"/api/persona-tasks/{t}", none),
        ("POST", "/api/persona-tasks/{task_id}/retry-failed"): (
            f"/api/persona-tasks/{t}/retry-failed",
            none,
        ),
        ("POST", "/api/actors/{actor_id}/training-data/generate-all-prompts"): (
            f"/api/actors/{a}/training-data/generate-all-prompts",
            {"json": {}},
        ),
        ("POST", "/api/actors/{actor_id}/training-data/generate-single"): (
            f"/api/actors/{a}/training-data/generate-single?wait=0",
            {"json": {"prompt": "x"}},
        ),
        ("GET", "/api/actors/{actor_id}/training-data"): (f"/api/actors/{a}/training-data", none),
        ("DELETE", "/api/actors/{actor_id}/training-data/{item_id}"): (
            f"/api/actors/{a}/training-data/{w.item}",
            none,
        ),
        ("POST", "/api/actors/{actor_id}/training-data/{item_id}/restore"): (
            f"/api/actors/{a}/training-data/{w.item}/restore",
            none,
        ),
        ("GET", "/api/actors/{actor_id}/training-data/export.zip"): (
            f"/api/actors/{a}/training-data/export.zip",
            none,
        ),
        ("GET", "/api/mv/get_character_reference/{image_id}"): (
            f"/api/mv/get_character_reference/{i}?redirect=true",
            none,
        ),
        ("POST", "/api/video-jobs/{job_id}/character-references"): (
            f"/api/video-jobs/{v}/character-references",
            {"json": {"image_ids": [i]}},
        ),
        ("GET", "/api/video-jobs/{job_id}/character-references"): (
            f"/api/video-jobs/{v}/character-references",
            none,
        ),
        ("PUT", "/api/video-jobs/{job_id}/assets/{path:path}"): (
            f"/api/video-jobs/{v}/assets/evil.txt",
            {"files": {"file": ("evil.txt", b"x", "text/plain")}},
        ),
        ("GET", "/api/video-jobs/{job_id}/assets"): (f"/api/video-jobs/{v}/assets", none),
        ("GET", "/api/video-jobs/{job_id}/assets.zip"): (f"/api/video-jobs/{v}/assets.zip", none),
        ("GET", "/actors/{actor_id}"): (f"/actors/{a}", none),
        ("GET", "/personas/{task_id}"): (f"/personas/{t}", none),
        ("POST", "/api/poster-frames/regenerate"): (
            "/api/poster-frames/regenerate",
            {"json": {"actor_ids": [a]}},
        ),
        ("GET", "/api/actors/{actor_id}/lora-trainings"): (f"/api/actors/{a}/lora-trainings", none),
        ("POST", "/api/actors/{actor_id}/lora-trainings"): (
            f"/api/actors/{a}/lora-trainings",
            {"json": {}},
        ),
        ("POST", "/api/actors/{actor_id}/lora"): (
            f"/api/actors/{a}/lora",
            {"files": {"file": ("b.safetensors", safetensors(), "application/octet-stream")}},
        ),
        ("GET", "/api/actors/{actor_id}/training-data/export"): (
            f"/api/actors/{a}/training-data/export",
            none,
        ),
        ("GET", "/api/lora-trainings/{training_id}"): (f"/api/lora-trainings/{w.lora}", none),
        ("POST", "/api/lora-trainings/{training_id}/cancel"): (
            f"/api/lora-trainings/{w.lora}/cancel",
            none,
        ),
        ("POST", "/api/lora-trainings/{training_id}/make-current"): (
            f"/api/lora-trainings/{w.lora}/make-current",
            none,
        ),
        ("GET", "/api/lora-trainings/{training_id}/weights"): (
            f"/api/lora-trainings/{w.lora}/weights",
            none,
        ),
        ("GET", "/api/lora-trainings/{training_id}/test-grid"): (
            f"/api/lora-trainings/{w.lora}/test-grid",
            none,
        ),
        ("POST", "/api/lora-trainings/{training_id}/strength"): (
            f"/api/lora-trainings/{w.lora}/strength",
            {"json": {"strength": 0.8}},
        ),
        ("GET", "/api/actors/{actor_id}/training-data/report"): (
            f"/api/actors/{a}/training-data/report",
            none,
        ),
        ("POST", "/api/actors/{actor_id}/training-data/check"): (
            f"/api/actors/{a}/training-data/check",
            {"json": {}},
        ),
        ("POST", "/api/actors/{actor_id}/training-data/upload"): (
            f"/api/actors/{a}/training-data/upload",
            {"files": {"files": ("c.png", png(), "image/png")}},
        ),
        ("POST", "/api/persona-tasks/{task_id}/personas/{result_id}/regenerate"): (
            f"/api/persona-tasks/{t}/personas/1/regenerate",
            {"json": {}},
        ),
        # A feature kind through the generic route, naming Alice's actor: refused (403).
        ("POST", "/api/jobs"): (
            "/api/jobs",
            {"json": {"kind": "actor.base_image", "payload": {"actor_id": a}}},
        ),
        ("POST", "/api/mv/generate_character_reference"): (
            "/api/mv/generate_character_reference?wait=0",
            {"json": {"character_description": "x", "actor_id": a}},
        ),
    }


async def snapshot(cast: Cast, w: World) -> list[Any]:
    """What Alice can see of her things (ids, versions, files, job states)."""
    http, alice = cast.http, cast.auth("alice")
    paths = [
        f"/api/actors/{w.actor}",
        f"/api/actors/{w.actor}/poster-frames",
        f"/api/actors/{w.actor}/poster-defaults",
        f"/api/actors/{w.actor}/training-data",
        f"/api/persona-tasks/{w.task}",
        f"/api/video-jobs/{w.video}/assets",
        f"/api/video-jobs/{w.video}/character-references",
        f"/api/actors/{w.actor}/lora-trainings",
        f"/api/lora-trainings/{w.lora}",
    ]
    seen: list[Any] = []
    for path in paths:
        answer = await http.get(path, headers=alice)
        assert answer.status_code == 200, (path, answer.text)
        seen.append(_without_links(answer.json()))
    jobs = (await http.get("/api/jobs?limit=500", headers=cast.auth("root"))).json()["items"]
    seen.append(sorted((j["id"], j["status"], j["cancel_requested"], j["owner_id"]) for j in jobs))
    return seen


def _without_links(value: Any) -> Any:
    # Signed links carry a fresh expiry on every read; what they point at is compared.
    if isinstance(value, dict):
        # Curation checks fill in on their own (Alice's own background job): not compared.
        return {k: _without_links(v) for k, v in value.items() if "url" not in k and k != "checks"}
    if isinstance(value, list):
        return [_without_links(v) for v in value]
    if isinstance(value, str) and "sig=" in value:
        return value.split("?", 1)[0]
    return value


def test_every_route_taking_an_id_has_a_probe(tmp_path: Any, sqlite_database_url: str) -> None:
    from castsmith.bootstrap import build_container
    from castsmith.config import Settings

    container = build_container(Settings(data_dir=tmp_path, database_url=sqlite_database_url))
    try:
        served = set(routes(create_app(container)))
    finally:
        container.close()
    named = {route for route in served if "{" in route[1]} | (BODY_IDS & served)
    known = set(probes(World(1, 1, 1, 1, "t", "i", "v", 1))) | SIGNED
    missing = sorted(named - known)
    assert not missing, f"routes without a cross-user probe in this file: {missing}"
    assert not sorted(known - served), "probes for routes that no longer exist"


async def test_another_user_gets_404_and_changes_nothing(cast: Cast, world: World) -> None:
    before = await snapshot(cast, world)
    for (method, route), (path, options) in probes(world).items():
        answer = await cast.http.request(method, path, headers=cast.auth("bob"), **options)
        expected = 403 if route == "/api/jobs" else 404
        assert answer.status_code == expected, (method, route, answer.status_code, answer.text)
    assert await snapshot(cast, world) == before
    # Signed links need their signature, whoever asks.
    for path in ("/files/actors/x.png", f"/api/mv/character_reference_file/{world.image}"):
        assert (await cast.http.get(path, headers=cast.auth("bob"))).status_code == 403
