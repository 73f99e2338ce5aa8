"""Posters drawn without being made current, and the parameters an actor remembers,
through the API on SQLite and PostgreSQL (offline provider, local store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from castsmith.config import Settings
from castsmith.db.models import Job
from tests.harness import AppEnv
from tests.integration.pipelines.test_posters_support import poster_env

NAME = "0001_european_20_female"


@pytest.fixture
async def env(database_url: str, tmp_path: Path) -> AsyncIterator[AppEnv]:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, poster_style_loras="SBai_style_101, noir_v2"
    )
    async with poster_env(settings) as running:
        yield running


async def versions(env: AppEnv, actor_id: int) -> list[dict[str, Any]]:
    answer = await env.client.get(f"/api/actors/{actor_id}/poster-frames")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def draw(env: AppEnv, actor_id: int, **body: Any) -> dict[str, Any]:
    answer = await env.client.post(
        f"/api/actors/{actor_id}/regenerate-poster-frame?wait=30", json=body
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_a_draft_joins_the_history_and_the_current_poster_stays(env: AppEnv) -> None:
    actor_id = await env.create_actor(NAME)
    first = await draw(env, actor_id, seed=1)
    assert "poster" not in first  # the seeds' shape, untouched, when made current

    custom = {
        "style_lora": "noir_v2",
        "style_lora_strength": 0.55,
        "steps": 12,
        "guidance": 4.5,
        "seed": 4242,
        "width": 832,
        "height": 1216,
        "teacache": "off",
    }
    draft = await draw(env, actor_id, actor_name=NAME, make_current=False, **custom)
    assert draft["success"] is True and draft["actor_name"] == NAME
    assert draft["poster"] == {"version": 2, "is_current": False}
    assert "/v2/" in draft["poster_frames"]["standard"]["webp_lg"]

    items = await versions(env, actor_id)
    assert [(v["version"], v["is_current"]) for v in items] == [(2, False), (1, True)]
    params = items[0]["params"]
    assert items[0]["seed"] == 4242
    assert params["style_lora"] == {
        "name": "noir_v2.safetensors",
        "strength_model": 0.55,
        "strength_clip": 0.55,
    }
    assert (params["steps"], params["guidance"], params["seed"]) == (12, 4.5, 4242)
    assert (params["width"], params["height"], params["teacache"]) == (832, 1216, "off")
    large = items[0]["sizes"]["lg"]
    assert abs(large["width"] / large["height"] - 832 / 1216) < 0.01  # drawn portrait

    actor = (await env.client.get(f"/api/actors/{actor_id}")).json()
    assert "/v1/" in actor["poster_frames"]["standard"]["webp_lg"]

    made = await env.client.post(f"/api/actors/{actor_id}/poster-frames/2/make-current")
    assert made.status_code == 200 and made.json()["is_current"] is True
    actor = (await env.client.get(f"/api/actors/{actor_id}")).json()
    assert "/v2/" in actor["poster_frames"]["standard"]["webp_lg"]


async def test_a_queued_draft_says_so_in_its_job(env: AppEnv) -> None:
    actor_id = await env.create_actor(NAME)
    normal = await env.client.post(f"/api/actors/{actor_id}/regenerate-poster-frame", json={})
    draft = await env.client.post(
        f"/api/actors/{actor_id}/regenerate-poster-frame", json={"make_current": False}
    )
    assert normal.status_code == draft.status_code == 202
    # A draft never hands back the job that will replace the current poster.
    assert draft.json()["job_id"] != normal.json()["job_id"]
    done = await env.wait_job(draft.json()["job_id"])
    replaced = await env.wait_job(normal.json()["job_id"])
    assert done["status"] == "completed", done
    assert done["result"]["poster"]["is_current"] is False
    with env.container.sessions() as session:
        job = session.scalars(select(Job).where(Job.id == draft.json()["job_id"])).one()
        assert job.payload["make_current"] is False
    current = [v["version"] for v in await versions(env, actor_id) if v["is_current"]]
    assert current == [replaced["result"]["poster"]["version"]]

    bad = await env.client.post(
        f"/api/actors/{actor_id}/regenerate-poster-frame", json={"make_current": "maybe"}
    )
    assert bad.status_code == 422, bad.text
    assert "make_current" in bad.text


async def test_remembered_defaults_shape_later_posters(env: AppEnv) -> None:
    actor_id = await env.create_actor(NAME)
    options = (await env.client.get("/api/poster-frames/options")).json()
    assert options["style_loras"] == ["SBai_style_101", "noir_v2"]
    assert options["defaults"]["steps"] == 25 and [1024, 1024] in options["sizes"]
    assert (await env.client.get(f"/api/actors/{actor_id}/poster-defaults")).json() == {}

    saved = await env.client.put(
        f"/api/actors/{actor_id}/poster-defaults",
        json={"steps": 14, "guidance": 5.0, "seed": 99, "style_lora": ""},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"steps": 14, "guidance": 5.0, "seed": 99, "style_lora": ""}
    assert (await env.client.get(f"/api/actors/{actor_id}/poster-defaults")).json() == saved.json()

    await draw(env, actor_id)
    await draw(env, actor_id, new_seed=True, steps=20)
    newer, older = await versions(env, actor_id)
    assert (older["params"]["steps"], older["seed"], older["params"]["style_lora"]) == (
        14,
        99,
        None,
    )
    assert newer["params"]["steps"] == 20 and newer["params"]["guidance"] == 5.0
    assert newer["seed"] != 99

    for body, field in (({"steps": 500}, "steps"), ({"width": 1000}, "width"), ({"x": 1}, "x")):
        answer = await env.client.put(f"/api/actors/{actor_id}/poster-defaults", json=body)
        assert answer.status_code == 422, answer.text
        assert field in answer.text
    # A refused change leaves what was remembered.
    assert (await env.client.get(f"/api/actors/{actor_id}/poster-defaults")).json()["seed"] == 99
    missing = await env.client.put("/api/actors/999999/poster-defaults", json={"steps": 10})
    assert missing.status_code == 404
