"""Jobs act as their owner, and their payloads are checked when they are queued.

A job that ordinary user Bob owns, naming Alice's rows, must fail in its handler and
leave Alice's data as it was; a payload that does not fit its kind's schema is refused
at enqueue (422 from the API, ``ValidationError`` in-process), so no worker ever
crashes on it; use cases run with nobody recorded as the caller raise ``NoCaller``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from castsmith.bootstrap import build_container
from castsmith.config import Settings
from castsmith.db.models import Actor, Asset, CharacterReference
from castsmith.domain.access import OPERATOR, NoCaller
from castsmith.domain.errors import ValidationError
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.worker import Worker
from castsmith.pipelines import actors, references
from tests.harness import WORKER_DEFAULTS, operator_container, wait_job
from tests.integration.auth.conftest import Cast
from tests.integration.auth.probes import png, without_links


@pytest.fixture
async def worker(cast: Cast) -> AsyncIterator[Worker]:
    """A worker serving the cast's queue in this event loop."""
    running = Worker(
        cast.container.queue, cast.container.registry, services=cast.container, **WORKER_DEFAULTS
    )
    task = asyncio.create_task(running.run())
    yield running
    running.stop()
    await asyncio.wait_for(task, 30)


async def alices_actor(cast: Cast) -> int:
    """An actor of Alice's with a description and a base image: every job could use it."""
    http, alice = cast.http, cast.auth("alice")
    made = await http.post(
        "/api/actors", json={"name": "Ada", "description": "a painter"}, headers=alice
    )
    actor = int(made.json()["id"])
    base = await http.put(
        f"/api/actors/{actor}/base-image",
        files={"file": ("a.png", png(), "image/png")},
        headers=alice,
    )
    assert base.status_code == 200, base.text
    return actor


async def what_alice_sees(cast: Cast, actor: int) -> list[Any]:
    """Alice's actor, its posters, training data and references, and the row counts."""
    seen: list[Any] = []
    for path in (
        f"/api/actors/{actor}",
        f"/api/actors/{actor}/poster-frames",
        f"/api/actors/{actor}/training-data",
        f"/api/character-references?actor_id={actor}",
    ):
        answer = await cast.http.get(path, headers=cast.auth("alice"))
        assert answer.status_code == 200, (path, answer.text)
        seen.append(without_links(answer.json()))
    with cast.container.sessions() as session:
        seen.append(session.scalar(select(func.count()).select_from(Asset)))
        seen.append(session.scalar(select(func.count()).select_from(CharacterReference)))
    return seen


async def test_a_job_bob_owns_cannot_touch_alices_rows(cast: Cast, worker: Worker) -> None:
    actor = await alices_actor(cast)
    before = await what_alice_sees(cast, actor)
    queue, bob = cast.container.queue, cast.ids["bob"]
    jobs = {
        kind: queue.enqueue(kind, payload, owner_id=bob).id
        for kind, payload in (
            ("actor.base_image", {"actor_id": actor}),
            ("training.generate_one", {"actor_id": actor, "prompt": "in the rain"}),
            ("poster.generate", {"actor_id": actor, "overrides": {}}),
            ("reference.generate", {"character_description": "a painter", "actor_id": actor}),
        )
    }
    for kind, job_id in jobs.items():
        ended = await wait_job(cast.container, job_id)
        assert ended.status == "failed", (kind, ended.status, ended.result)
        assert "not found" in (ended.error or "").lower() or "no actor" in (ended.error or ""), (
            kind,
            ended.error,
        )
        assert ended.result is None, kind
    # A reference can no longer be planted in Alice's name: the payload has no owner.
    with pytest.raises(ValidationError) as refused:
        queue.enqueue(
            "reference.generate",
            {"character_description": "a painter", "owner_id": cast.ids["alice"]},
            owner_id=bob,
        )
    assert refused.value.field == "payload.owner_id"
    assert await what_alice_sees(cast, actor) == before


async def test_a_check_job_measures_only_assets_its_owner_may_see(
    cast: Cast, worker: Worker
) -> None:
    actor = await alices_actor(cast)
    with cast.container.sessions() as session:
        base = session.scalar(select(Actor.base_image_asset_id).where(Actor.id == actor))
    assert base is not None
    queue, ids = cast.container.queue, cast.ids
    payload = {"asset_ids": [base], "again": True}
    bobs = queue.enqueue("curation.check", payload, owner_id=ids["bob"])
    alices = queue.enqueue("curation.check", payload, owner_id=ids["alice"])
    assert (await wait_job(cast.container, bobs.id)).result == {"checked": 0}
    assert (await wait_job(cast.container, alices.id)).result == {"checked": 1}
    # Her persona's images, checked by the job her persona task queues, are hers too.
    task = await cast.http.post("/api/persona-tasks", json={"count": 1}, headers=cast.auth("alice"))
    assert (await wait_job(cast.container, task.json()["job_id"], 120)).status == "completed"
    checks = queue.list_jobs(OPERATOR, kind="curation.check", limit=500)[0]
    persona_checks = [job for job in checks if job.payload.get("asset_ids") and job.id > alices.id]
    assert persona_checks, "the persona task queued no check"
    for job in persona_checks:
        ended = await wait_job(cast.container, job.id)
        assert ended.result is not None and ended.result["checked"] > 0, ended.result


async def test_a_reference_job_makes_rows_its_owner_owns(cast: Cast, worker: Worker) -> None:
    answer = await cast.http.post(
        "/api/mv/generate_character_reference?wait=60",
        json={"character_description": "a painter", "num_images": 1},
        headers=cast.auth("bob"),
    )
    assert answer.status_code == 200, answer.text
    with cast.container.sessions() as session:
        owners = set(session.scalars(select(CharacterReference.owner_id)))
    assert owners == {cast.ids["bob"]}
    mine = await cast.http.get("/api/character-references", headers=cast.auth("bob"))
    assert len(mine.json()["items"]) == 1
    theirs = await cast.http.get("/api/character-references", headers=cast.auth("alice"))
    assert theirs.json()["items"] == []


async def test_a_legacy_reference_payload_naming_an_owner_plants_nothing(
    cast: Cast, worker: Worker
) -> None:
    # Queued before payloads had schemas (a queue without the registry checks nothing).
    legacy = JobQueue(cast.container.engine)
    payload = {"character_description": "a painter", "num_images": 1, "owner_id": cast.ids["alice"]}
    job = legacy.enqueue("reference.generate", payload, owner_id=cast.ids["bob"])
    assert (await wait_job(cast.container, job.id)).status == "completed"
    with cast.container.sessions() as session:
        owners = set(session.scalars(select(CharacterReference.owner_id)))
    assert owners == {cast.ids["bob"]}


async def test_payloads_are_checked_when_queued(cast: Cast) -> None:
    http, root, bob = cast.http, cast.auth("root"), cast.auth("bob")
    for kind, payload, field in (
        ("actor.base_image", {}, "payload.actor_id"),
        ("actor.base_image", {"actor_id": "8"}, "payload.actor_id"),
        ("actor.base_image", {"actor_id": 8.0}, "payload.actor_id"),
        ("poster.generate", {"actor_id": 1, "overrides": {"width": "wide"}}, "payload.overrides"),
        ("training.generate_one", {"actor_id": 1}, "payload.prompt"),
        ("persona.base", {"task_id": "t"}, "payload.result_id"),
        ("lora.train", {"training_id": 0}, "payload.training_id"),
        ("webhook.deliver", {"url": "https://example.org"}, "payload.msg_id"),
        ("reference.generate", {"character_description": "x", "num_images": 9}, "payload"),
    ):
        answer = await http.post("/api/jobs", json={"kind": kind, "payload": payload}, headers=root)
        assert answer.status_code == 422, (kind, payload, answer.text)
        body = answer.json()
        assert body["field"].startswith(field), (kind, body)
        assert kind in body["detail"], body
    # The diagnostic kind, open to everyone, is checked as well.
    answer = await http.post(
        "/api/jobs", json={"kind": "diagnostic.sleep", "payload": {"seconds": "ever"}}, headers=bob
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "payload.seconds"
    # In-process callers get the same refusal, before anything is written.
    with pytest.raises(ValidationError, match=r"payload\.actor_id"):
        cast.container.queue.enqueue("training.generate_all", {"actor_id": None})
    assert (await http.get("/api/jobs", headers=root)).json()["items"] == []
    # Every kind the app registers has a schema.
    registry = cast.container.registry
    assert all(registry.require(kind).payload is not None for kind in registry.kinds())


async def test_use_cases_with_nobody_recorded_raise(tmp_path: Path, database_url: str) -> None:
    # Built as the app and the worker hold it: scoped to nobody until a caller is named.
    container = build_container(Settings(data_dir=tmp_path, database_url=database_url))
    try:
        with pytest.raises(NoCaller):
            await actors.get_actor(container, 1)
        with pytest.raises(NoCaller):
            await actors.create_actor(container, {"name": "Ada"})
        with pytest.raises(NoCaller):
            await references.list_references(container)
        with pytest.raises(NoCaller):
            await references.check_actor(container, 1)
    finally:
        container.close()
    # Nothing was written by the refused calls (looked at as the operator, explicitly).
    check = operator_container(Settings(data_dir=tmp_path, database_url=database_url))
    try:
        with check.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Asset)) == 0
        assert check.queue.list_jobs(OPERATOR)[0] == []
    finally:
        check.close()
