"""Every route and every job kind that names something by id keeps another user out.

The app's routes are enumerated: a route with a path parameter, or a route whose
request body (as the OpenAPI documents it) has a field named ``id``, ``*_id`` or
``*_ids``, must have a probe in ``probes.py``. Each probe is sent as Bob against Alice's data and
must answer 404 (as for an id that does not exist; the few other answers are listed in
``EXPECTED``); afterwards Alice's data is exactly as before. The registered job kinds
are enumerated too: each has a payload naming Alice's rows, queued as a job Bob owns,
which must not complete. A route or a kind added later without a probe fails
``test_every_route_taking_an_id_has_a_probe`` or ``test_every_job_kind_has_a_probe``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from castsmith.api.app import create_app
from castsmith.config import Settings
from castsmith.db.models import Actor, PersonaResult, PersonaTask
from castsmith.domain.access import OPERATOR
from castsmith.domain.errors import ValidationError
from castsmith.jobs.registry import HandlerRegistry
from castsmith.jobs.worker import Worker
from tests.harness import WORKER_DEFAULTS, operator_container, wait_job
from tests.integration.auth.conftest import Cast
from tests.integration.auth.probes import (
    EXPECTED,
    GENERIC_ENQUEUE,
    ID_NAME,
    NAMES_NOTHING,
    SIGNED,
    World,
    body_ids,
    kind_probes,
    more_probes,
    openapi_path,
    png,
    probes,
    routes,
    safetensors,
    without_links,
)
from tests.integration.auth.test_ownership import _reference


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
        with cast.container.sessions() as session:
            result = session.scalars(
                select(PersonaResult.id)
                .join(PersonaTask, PersonaTask.id == PersonaResult.task_id)
                .where(PersonaTask.task_id == task["task_id"])
            ).first()
            asset = session.scalar(select(Actor.base_image_asset_id).where(Actor.id == actor))
        assert result is not None and asset is not None
        yield World(
            actor,
            poster_job,
            version,
            item,
            task["task_id"],
            image,
            video["id"],
            lora.json()["id"],
            result=result,
            asset=asset,
            alice=cast.ids["alice"],
        )
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)


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
        seen.append(without_links(answer.json()))
    jobs = (await http.get("/api/jobs?limit=500", headers=cast.auth("root"))).json()["items"]
    # Bob's own probe jobs are his; every other job must be as it was.
    seen.append(
        sorted(
            (j["id"], j["status"], j["cancel_requested"], j["owner_id"])
            for j in jobs
            if j["owner_id"] != cast.ids["bob"]
        )
    )
    return seen


def test_every_route_taking_an_id_has_a_probe(tmp_path: Any, sqlite_database_url: str) -> None:
    container = operator_container(Settings(data_dir=tmp_path, database_url=sqlite_database_url))
    try:
        app = create_app(container)
        served = set(routes(app))
        in_body = body_ids(app)
    finally:
        container.close()
    with_body_ids = {route for route in served if (route[0], openapi_path(route[1])) in in_body}
    # The finder really reads bodies: these name rows only there.
    assert {
        ("POST", "/api/poster-frames/regenerate"),
        ("POST", "/api/mv/generate_character_reference"),
        ("POST", "/api/video-jobs"),
    } <= with_body_ids
    named = {route for route in served if "{" in route[1]} | with_body_ids | {GENERIC_ENQUEUE}
    known = set(probes(World(1, 1, 1, 1, "t", "i", "v", 1))) | SIGNED
    missing = sorted(named - known)
    assert not missing, f"routes without a cross-user probe in this file: {missing}"
    assert not sorted(known - served), "probes for routes that no longer exist"
    assert {(m, r) for m, r, _, _ in more_probes(World(1, 1, 1, 1, "t", "i", "v", 1))} <= known


def test_every_job_kind_has_a_probe(tmp_path: Any, sqlite_database_url: str) -> None:
    container = operator_container(Settings(data_dir=tmp_path, database_url=sqlite_database_url))
    try:
        registry: HandlerRegistry = container.registry
    finally:
        container.close()
    kinds = set(registry.kinds())
    probed = set(kind_probes(World(1, 1, 1, 1, "t", "i", "v", 1)))
    assert not sorted(kinds - probed), "job kinds without a cross-user probe in this file"
    assert not sorted(probed - kinds), "probes for job kinds that no longer exist"
    for kind, allowed in NAMES_NOTHING.items():
        schema = registry.require(kind).payload
        assert schema is not None, kind
        ids = {name for name in schema.model_fields if ID_NAME.search(name)}
        assert ids <= allowed, f"{kind} now names rows ({ids - allowed}): give it a real probe"


async def test_another_user_gets_404_and_changes_nothing(cast: Cast, world: World) -> None:
    bob = cast.auth("bob")
    own = await cast.http.post("/api/video-jobs", json={"id": "bob-clip"}, headers=bob)
    assert own.status_code == 201, own.text
    # Alice's own background jobs (curation checks) settle first: the snapshots compare
    # job states, and the probes below take a while.
    for job in cast.container.queue.list_jobs(OPERATOR, limit=500)[0]:
        await wait_job(cast.container, job.id)
    before = await snapshot(cast, world)
    sent = [(m, r, path, options) for (m, r), (path, options) in probes(world).items()]
    for method, route, path, options in sent + more_probes(world):
        answer = await cast.http.request(method, path, headers=bob, **options)
        expected = EXPECTED.get((method, route), 404)
        assert answer.status_code == expected, (method, route, answer.status_code, answer.text)
    # Bob's "Ada" owner_id was ignored: the actor is his.
    mine = (await cast.http.get("/api/actors?limit=200", headers=bob)).json()["items"]
    assert [(actor["name"], actor["owner_id"]) for actor in mine] == [
        ("Bobs_actor", cast.ids["bob"])
    ]
    # Every job kind, queued as a job Bob owns and naming Alice's rows, reaches nothing.
    queue, ended = cast.container.queue, {}
    for kind, payload in kind_probes(world).items():
        try:
            job = queue.enqueue(kind, payload, owner_id=cast.ids["bob"])
        except ValidationError as refused:  # refused at the door is fine too
            ended[kind] = f"refused: {refused}"
            continue
        ended[kind] = (await wait_job(cast.container, job.id)).status
    for kind, status in ended.items():
        if kind not in NAMES_NOTHING:
            assert status != "completed", (kind, status)
    assert await snapshot(cast, world) == before
    # Signed links need their signature, whoever asks.
    for path in ("/files/actors/x.png", f"/api/mv/character_reference_file/{world.image}"):
        assert (await cast.http.get(path, headers=cast.auth("bob"))).status_code == 403


async def test_the_costs_of_another_users_job_stay_hidden(cast: Cast, world: World) -> None:
    """``GET /api/costs`` takes job ids in its query (``job_id=``), which the route
    enumeration above does not read: Bob naming Alice's poster job sees no line for it,
    as for a job that does not exist; Alice sees hers."""
    path = f"/api/costs?by=job&job_id={world.poster_job}"
    bob = await cast.http.get(path, headers=cast.auth("bob"))
    assert bob.status_code == 200 and bob.json()["rows"] == []
    alice = (await cast.http.get(path, headers=cast.auth("alice"))).json()["rows"]
    assert [row["key"] for row in alice] == [str(world.poster_job)]
