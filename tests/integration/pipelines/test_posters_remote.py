"""Posters on the fake remote providers (RunPod worker-comfyui 5.x, ComfyUI) and on
PostgreSQL + the S3 server; versions under concurrency; failures leave nothing behind."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from castsmith.config import Settings
from castsmith.db.models import Actor, Asset, AssetRendition, PosterFrameVersion
from castsmith.pipelines import posters
from castsmith.pipelines.posters.params import PosterOverrides
from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.runpod import FakeRunPod
from tests.integration.pipelines.test_posters_support import (
    DESCRIPTION,
    SEED_SIZES,
    poster_env,
    webp_size,
)


def big_png(colour: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (1024, 1024), colour)
    for x in range(0, 1024, 64):
        image.paste((255 - colour[0], colour[1], 90), (x, x // 2, x + 48, x // 2 + 300))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class PosterRunPod(FakeRunPod):
    """worker-comfyui 5.x answering with a 1024x1024 poster, a new colour per job."""

    def _output(self) -> Any:
        n = len(self.jobs)
        data = base64.b64encode(big_png((40 * n % 255, 120, 200))).decode()
        return {"images": [{"filename": "poster_frame_00001_.png", "type": "base64", "data": data}]}


@pytest.fixture
def runpod() -> Iterator[PosterRunPod]:
    fake = PosterRunPod()
    fake.start()
    yield fake
    fake.stop()


def runpod_settings(base: Settings, fake: FakeRunPod, database_url: str) -> Settings:
    return base.model_copy(
        update={
            "database_url": database_url,
            "runpod_api_key": fake.api_key,
            "runpod_endpoint_url": fake.base,
            "runpod_mode": "runsync",
            "poster_provider": "runpod",
        }
    )


def sent_workflow(fake: FakeRunPod) -> dict[str, Any]:
    (call,) = [c for c in fake.calls_to(f"/v2/{fake.endpoint_id}/runsync")][-1:]
    workflow: dict[str, Any] = call.json()["input"]["workflow"]
    return workflow


def check_workflow(workflow: dict[str, Any], lora: str, description: str) -> None:
    loras = [n["inputs"]["lora_name"] for n in workflow.values() if "Lora" in n["class_type"]]
    assert f"{lora}.safetensors" in loras
    texts = [n["inputs"]["text"] for n in workflow.values() if n["class_type"] == "CLIPTextEncode"]
    assert any(description in text for text in texts)


async def test_runpod_postgres_s3_full_flow(
    s3_settings: Settings, pg_database_url: str, runpod: PosterRunPod
) -> None:
    settings = runpod_settings(s3_settings, runpod, pg_database_url)
    async with poster_env(settings) as env:
        actor_id = await env.create_actor()
        url = f"/api/actors/{actor_id}/regenerate-poster-frame?wait=30"
        first = await env.client.post(url, json={"actor_name": "0001_european_20_female"})
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["success"] is True and body["actor_id"] == str(actor_id)
        assert body["message"] == "Poster frame regenerated successfully"
        check_workflow(sent_workflow(runpod), "0001_european_20_female", DESCRIPTION)

        for field, side in SEED_SIZES.items():
            link = body["poster_frames"]["standard"][field]
            assert (
                f"/{s3_settings.s3_bucket}/actors/0001_european_20_female/poster_frame/v1/" in link
            )
            assert webp_size(await env.fetch(link)) == (side, side)

        second = (await env.client.post(url, json={"seed": 99})).json()
        v1_key = (
            "actors/0001_european_20_female/poster_frame/v1/0001_european_20_female_poster_lg.webp"
        )
        v2_key = v1_key.replace("/v1/", "/v2/")
        assert "/v2/" in second["poster_frames"]["standard"]["webp_lg"]
        old, new = await env.container.store.get(v1_key), await env.container.store.get(v2_key)
        assert old != new and webp_size(old) == (1024, 1024)
        assert await env.fetch(body["poster_frames"]["standard"]["webp_lg"]) == old

        items = (await env.client.get(f"/api/actors/{actor_id}/poster-frames")).json()["items"]
        assert [(i["version"], i["is_current"], i["provider"]) for i in items] == [
            (2, True, "runpod"),
            (1, False, "runpod"),
        ]
        assert items[0]["seed"] == 99 and items[0]["placeholder"] is False
        keys = [meta.key async for meta in env.container.store.list("actors")]
        assert len(keys) == 8  # two versions x (source + three renditions)


async def test_provider_failure_fails_the_job_and_writes_nothing(
    s3_settings: Settings, pg_database_url: str, runpod: PosterRunPod
) -> None:
    settings = runpod_settings(s3_settings, runpod, pg_database_url)
    async with poster_env(settings) as env:
        actor_id = await env.create_actor()
        runpod.finish_next(
            "FAILED",
            "Workflow validation failed:\n• Node 1 (UNETLoader): unet_name not in list",
        )
        answer = await env.client.post(f"/api/actors/{actor_id}/regenerate-poster-frame?wait=30")
        assert answer.status_code == 502, answer.text
        assert "workflow validation failed" in answer.json()["detail"]
        job = await env.wait_job(answer.json()["job_id"])
        assert job["status"] == "failed" and "UNETLoader" in job["error"]
        with env.container.sessions() as session:
            assert session.scalar(select(func.count()).select_from(PosterFrameVersion)) == 0
            assert session.scalar(select(func.count()).select_from(Asset)) == 0
        assert [m.key async for m in env.container.store.list("actors")] == []


async def test_comfyui_receives_the_actor_lora_and_description(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    fake = FakeComfyUI(steps=2)
    fake.install("0002_european_35_female.safetensors", "other_style.safetensors")
    fake.start()
    try:
        settings = Settings(
            data_dir=tmp_path,
            database_url=sqlite_database_url,
            comfyui_url=fake.url,
            poster_provider="comfyui",
        )
        async with poster_env(settings) as env:
            actor_id = await env.create_actor("0002_european_35_female")
            answer = await env.client.post(
                f"/api/actors/{actor_id}/regenerate-poster-frame?wait=30",
                json={
                    "actor_description": "a mature woman with short blonde hair",
                    "style_lora": "other_style",
                    "style_lora_strength": 0.5,
                },
            )
            assert answer.status_code == 200, answer.text
            (workflow,) = fake.prompts.values()
            check_workflow(workflow, "0002_european_35_female", "a mature woman with short blonde")
            loras = {
                n["inputs"]["lora_name"]: n["inputs"]["strength_model"]
                for n in workflow.values()
                if "Lora" in n["class_type"]
            }
            assert loras["other_style.safetensors"] == 0.5
            items = (await env.client.get(f"/api/actors/{actor_id}/poster-frames")).json()["items"]
            assert items[0]["provider"] == "comfyui" and items[0]["notes"] == []
            # The same server without TeaCache: the poster is still drawn, and says why.
            fake.node_classes.discard("TeaCache")
            again = await env.client.post(
                f"/api/actors/{actor_id}/regenerate-poster-frame?wait=30",
                json={"style_lora": "other_style"},
            )
            assert again.status_code == 200, again.text
            queued = list(fake.prompts.values())[-1]
            assert "TeaCache" not in {n["class_type"] for n in queued.values()}
            items = (await env.client.get(f"/api/actors/{actor_id}/poster-frames")).json()["items"]
            newest = max(items, key=lambda item: item["version"])
            assert newest["notes"] == ["TeaCache is not installed on the server; drawn without it"]
            # Asked for explicitly, it is not silently dropped.
            refused = await env.client.post(
                f"/api/actors/{actor_id}/regenerate-poster-frame?wait=30",
                json={"style_lora": "other_style", "teacache": "current"},
            )
            assert refused.status_code == 502 and "no node TeaCache" in refused.text
    finally:
        fake.stop()


async def test_concurrent_posters_get_distinct_versions(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    async with poster_env(settings) as env:
        actor_id = await env.create_actor()
        results = await asyncio.gather(
            *(
                posters.generate_poster(
                    env.container, actor_id, PosterOverrides(seed=n, width=256, height=256)
                )
                for n in range(4)
            )
        )
        assert sorted(r["poster"]["version"] for r in results) == [1, 2, 3, 4]
        with env.container.sessions() as session:
            current = session.scalars(
                select(PosterFrameVersion.version).where(PosterFrameVersion.is_current)
            ).all()
            assert len(current) == 1
            assert session.scalar(select(func.count()).select_from(AssetRendition)) == 12
            assert (
                session.scalar(
                    select(func.count()).select_from(Asset).where(Asset.deleted_at.is_not(None))
                )
                == 0
            )


async def test_owned_actor_uses_the_user_character_layout(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_database_url)
    async with poster_env(settings) as env:
        actor_id = await env.create_actor("my_character")
        with env.container.sessions.begin() as session:
            from castsmith.db.models import User

            user = User(username="ada")
            session.add(user)
            session.flush()
            session.get_one(Actor, actor_id).owner_id = user.id
            owner = user.id
        result = await posters.generate_poster(env.container, actor_id, PosterOverrides(seed=3))
        link = result["poster_frames"]["standard"]["webp_md"]
        assert f"/characters/{owner}/{actor_id}/poster_frames/v1/{actor_id}_poster_md.webp" in link
        assert webp_size(await env.fetch(link)) == (512, 512)
