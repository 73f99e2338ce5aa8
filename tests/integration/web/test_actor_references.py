"""An actor's character references: made for an actor, listed by actor, access checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from castsmith.config import Settings
from tests.harness import AppEnv, running_app
from tests.integration.auth.conftest import add_user

SEED_IMAGE_KEYS = {"id", "path", "base64", "cloud_url"}
GENERATE = "/api/mv/generate_character_reference?wait=60"


@pytest.fixture
async def env(database_url: str, tmp_path: Path) -> AsyncIterator[AppEnv]:
    async with running_app(Settings(data_dir=tmp_path, database_url=database_url)) as running:
        yield running


@pytest.fixture
async def guarded(pg_database_url: str, tmp_path: Path) -> AsyncIterator[AppEnv]:
    # PostgreSQL: on SQLite the token check's read-then-touch transaction can meet the
    # worker's writes and fail with "database is locked" (an auth middleware matter).
    settings = Settings(data_dir=tmp_path, database_url=pg_database_url, auth="required")
    async with running_app(settings) as running:
        yield running


async def listed(env: AppEnv, query: str = "", **headers: str) -> list[dict[str, object]]:
    answer = await env.client.get(f"/api/character-references{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_references_made_for_an_actor_are_listed_by_actor(env: AppEnv) -> None:
    actor = await env.create_actor("0301_african_30_female")
    other = await env.create_actor("0302_asian_25_male")
    body = {"character_description": "a woman in a green coat", "num_images": 2}
    made = await env.client.post(GENERATE, json={**body, "actor_id": actor})
    assert made.status_code == 200, made.text
    images = made.json()["images"]
    assert len(images) == 2
    assert all(set(image) == SEED_IMAGE_KEYS for image in images)
    loose = await env.client.post(GENERATE, json={**body, "num_images": 1})
    assert loose.status_code == 200, loose.text

    mine = await listed(env, f"?actor_id={actor}")
    assert {item["id"] for item in mine} == {image["id"] for image in images}
    assert all(item["actor_id"] == actor for item in mine)
    assert await listed(env, f"?actor_id={other}") == []
    everything = await listed(env)
    assert len(everything) == 3
    assert {item["actor_id"] for item in everything} == {actor, None}


async def test_an_unknown_or_deleted_actor_is_refused_naming_the_field(env: AppEnv) -> None:
    body = {"character_description": "a knight", "num_images": 1, "actor_id": 987654}
    answer = await env.client.post(GENERATE, json=body)
    assert answer.status_code == 404
    assert answer.json()["field"] == "actor_id"
    assert "987654" in answer.json()["detail"]

    actor = await env.create_actor("0303_latino_40_male")
    assert (await env.client.delete(f"/api/actors/{actor}")).status_code == 204
    answer = await env.client.post(GENERATE, json={**body, "actor_id": actor})
    assert answer.status_code == 404
    assert answer.json()["field"] == "actor_id"
    assert await listed(env) == []  # nothing was generated

    bad = await env.client.post(GENERATE, json={**body, "actor_id": 0})
    assert bad.status_code == 422
    assert bad.json()["field"] == "actor_id"


async def test_a_purged_actor_leaves_its_references_standalone(env: AppEnv) -> None:
    actor = await env.create_actor("0304_european_50_female")
    body = {"character_description": "an old sailor", "num_images": 1, "actor_id": actor}
    image = (await env.client.post(GENERATE, json=body)).json()["images"][0]
    purge = await env.client.delete(f"/api/actors/{actor}?purge=true")
    assert purge.status_code == 204, purge.text
    items = await listed(env)
    assert [item["id"] for item in items] == [image["id"]]
    assert items[0]["actor_id"] is None
    lookup = await env.client.get(f"/api/mv/get_character_reference/{image['id']}")
    assert lookup.status_code == 200


async def test_only_an_actor_the_caller_may_access(guarded: AppEnv) -> None:
    container = guarded.container
    _, alice_token = add_user(container, "alice")
    _, bob_token = add_user(container, "bob")
    alice = {"Authorization": f"Bearer {alice_token}"}
    bob = {"Authorization": f"Bearer {bob_token}"}
    created = await guarded.client.post(
        "/api/actors", json={"name": "0305_european_30_male"}, headers=alice
    )
    assert created.status_code == 201, created.text
    actor = created.json()["id"]
    body = {"character_description": "a pilot", "num_images": 1, "actor_id": actor}

    refused = await guarded.client.post(GENERATE, json=body, headers=bob)
    assert refused.status_code == 404
    assert refused.json()["field"] == "actor_id"
    made = await guarded.client.post(GENERATE, json=body, headers=alice)
    assert made.status_code == 200, made.text

    assert len(await listed(guarded, f"?actor_id={actor}", **alice)) == 1
    assert await listed(guarded, f"?actor_id={actor}", **bob) == []
