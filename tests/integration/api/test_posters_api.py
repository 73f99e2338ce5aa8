"""The poster frame routes end to end: offline provider, SQLite and the local store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from castsmith.config import Settings
from castsmith.db.models import Asset, Job, PosterFrameVersion
from tests.harness import AppEnv
from tests.integration.pipelines.test_posters_support import SEED_SIZES, poster_env, webp_size

SEED_KEYS = {"success", "actor_id", "actor_name", "poster_frames", "message"}


@pytest.fixture
async def env(sqlite_database_url: str, tmp_path: Path) -> AsyncIterator[AppEnv]:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_database_url)
    async with poster_env(settings) as running:
        yield running


def check_seed_shape(body: dict[str, object], actor_id: int, name: str) -> None:
    """Field by field against the seed's response."""
    assert set(body) == SEED_KEYS
    assert body["success"] is True
    assert body["actor_id"] == str(actor_id)
    assert body["actor_name"] == name
    assert body["message"] == "Poster frame regenerated successfully"
    frames = body["poster_frames"]
    assert isinstance(frames, dict) and set(frames) == {"accelerated", "standard"}
    for variant in ("accelerated", "standard"):
        assert set(frames[variant]) == set(SEED_SIZES)
        for field, url in frames[variant].items():
            assert isinstance(url, str) and url.startswith("http")
            assert f"_poster_{field.removeprefix('webp_')}.webp" in url


async def test_wait_returns_the_seed_response_and_three_webps(env: AppEnv) -> None:
    actor_id = await env.create_actor()
    answer = await env.client.post(
        f"/api/actors/{actor_id}/regenerate-poster-frame?wait=30",
        json={
            "actor_name": "0001_european_20_female",
            "lora_model_url": "s3://bucket/models/0001_european_20_female.safetensors",
            "actor_description": "a young European woman with long brown hair",
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    check_seed_shape(body, actor_id, "0001_european_20_female")
    for field, side in SEED_SIZES.items():
        url = body["poster_frames"]["standard"][field]
        assert "/poster_frame/v1/" in url
        assert webp_size(await env.fetch(url)) == (side, side)
        assert body["poster_frames"]["accelerated"][field] == url  # local: one signed link


async def test_202_job_progress_and_history(env: AppEnv) -> None:
    actor_id = await env.create_actor()
    answer = await env.client.post(
        f"/api/actors/{actor_id}/regenerate-poster-frame", json={"steps": 20, "seed": 7}
    )
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["status"] == "queued" and accepted["kind"] == "poster.generate"
    assert answer.headers["location"] == f"/api/jobs/{accepted['job_id']}"
    assert accepted["events_url"] == f"/api/jobs/{accepted['job_id']}/events"
    job = await env.wait_job(accepted["job_id"])
    assert job["status"] == "completed", job
    check_seed_shape({k: job["result"][k] for k in SEED_KEYS}, actor_id, "0001_european_20_female")
    assert job["result"]["poster"]["version"] == 1

    with env.container.sessions() as session:
        row = session.scalars(select(Job).where(Job.id == accepted["job_id"])).one()
        assert row.provider == "offline" and row.progress == 100

    history = (await env.client.get(f"/api/actors/{actor_id}/poster-frames")).json()
    (only,) = history["items"]
    assert only["version"] == 1 and only["is_current"] and only["seed"] == 7
    assert only["provider"] == "offline" and only["placeholder"] is True
    assert only["params"]["steps"] == 20
    assert only["params"]["character_lora"]["name"] == "0001_european_20_female.safetensors"
    assert "ohwx, a young European woman" in only["params"]["prompt"]
    assert only["sizes"]["lg"] == {
        "width": 1024,
        "height": 1024,
        "size_bytes": only["sizes"]["lg"]["size_bytes"],
    }


async def test_regenerating_keeps_old_versions_and_make_current_reverts(env: AppEnv) -> None:
    actor_id = await env.create_actor()
    first = (
        await env.client.post(
            f"/api/actors/{actor_id}/regenerate-poster-frame?wait=30", json={"seed": 1}
        )
    ).json()
    second = (
        await env.client.post(
            f"/api/actors/{actor_id}/regenerate-poster-frame?wait=30", json={"seed": 2}
        )
    ).json()
    old_lg = first["poster_frames"]["standard"]["webp_lg"]
    new_lg = second["poster_frames"]["standard"]["webp_lg"]
    assert "/v1/" in old_lg and "/v2/" in new_lg
    old_bytes = await env.fetch(old_lg)
    assert old_bytes != await env.fetch(new_lg)

    items = (await env.client.get(f"/api/actors/{actor_id}/poster-frames")).json()["items"]
    assert [(i["version"], i["is_current"]) for i in items] == [(2, True), (1, False)]

    actor = (await env.client.get(f"/api/actors/{actor_id}")).json()
    assert "/v2/" in actor["poster_frames"]["standard"]["webp_lg"]

    reverted = await env.client.post(f"/api/actors/{actor_id}/poster-frames/1/make-current")
    assert reverted.status_code == 200 and reverted.json()["is_current"] is True
    items = (await env.client.get(f"/api/actors/{actor_id}/poster-frames")).json()["items"]
    assert [(i["version"], i["is_current"]) for i in items] == [(2, False), (1, True)]
    actor = (await env.client.get(f"/api/actors/{actor_id}")).json()
    assert "/v1/" in actor["poster_frames"]["standard"]["webp_lg"]
    assert await env.fetch(items[1]["poster_frames"]["standard"]["webp_lg"]) == old_bytes

    missing = await env.client.post(f"/api/actors/{actor_id}/poster-frames/9/make-current")
    assert missing.status_code == 404


async def test_double_click_makes_one_job(env: AppEnv) -> None:
    actor_id = await env.create_actor()
    env.worker.stop()  # keep the first job queued while the second click arrives
    await asyncio.wait_for(env.worker.stopped.wait(), 10)
    url = f"/api/actors/{actor_id}/regenerate-poster-frame"
    first, second = await asyncio.gather(env.client.post(url), env.client.post(url))
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    with env.container.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "poster.generate")
        )
    assert count == 1


async def test_bad_input_names_the_field(env: AppEnv) -> None:
    actor_id = await env.create_actor()
    url = f"/api/actors/{actor_id}/regenerate-poster-frame"

    wrong = await env.client.post(url, json={"actor_name": "someone_else"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "actor_name"

    for body, field in (
        ({"width": 100}, "width"),
        ({"steps": 0}, "steps"),
        ({"sampler": "nope"}, "sampler"),
        ({"actor_description": "   "}, "actor_description"),
    ):
        answer = await env.client.post(url, json=body)
        assert answer.status_code == 422, body
        assert answer.json()["field"] == field

    assert (await env.client.post("/api/actors/9999/regenerate-poster-frame")).status_code == 404
    assert (await env.client.get("/api/actors/9999/poster-frames")).status_code == 404
    with env.container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


async def test_batch_regenerates_each_actor_under_one_parent(env: AppEnv) -> None:
    ids = [await env.create_actor(f"000{n}_batch_actor") for n in range(1, 4)]
    answer = await env.client.post("/api/poster-frames/regenerate", json={"actor_ids": ids})
    assert answer.status_code == 202, answer.text
    parent = await env.wait_job(answer.json()["job_id"], 60)
    assert parent["status"] == "completed", parent
    assert parent["result"]["succeeded"] == 3
    with env.container.sessions() as session:
        versions = session.scalars(select(PosterFrameVersion.actor_id)).all()
        children = session.scalars(
            select(Job.status).where(Job.parent_id == answer.json()["job_id"])
        ).all()
    assert sorted(versions) == sorted(ids)
    assert children == ["completed"] * 3

    by_filter = await env.client.post(
        "/api/poster-frames/regenerate", json={"filter": {"q": "batch_actor"}, "steps": 10}
    )
    assert by_filter.status_code == 202
    assert (await env.wait_job(by_filter.json()["job_id"], 60))["status"] == "completed"

    assert (await env.client.post("/api/poster-frames/regenerate", json={})).status_code == 422
    unknown = await env.client.post("/api/poster-frames/regenerate", json={"actor_ids": [999]})
    assert unknown.status_code == 404


async def test_wait_too_short_answers_504_and_the_job_keeps_running(env: AppEnv) -> None:
    actor_id = await env.create_actor()
    env.worker.stop()
    await asyncio.wait_for(env.worker.stopped.wait(), 10)
    answer = await env.client.post(f"/api/actors/{actor_id}/regenerate-poster-frame?wait=0.2")
    assert answer.status_code == 504
    assert answer.json()["job_id"] > 0 and answer.json()["status"] == "queued"
    with env.container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Asset)) == 0
