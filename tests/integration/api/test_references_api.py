"""Character references (seed 004) end to end: generate, look up, attach to a video job."""

from __future__ import annotations

import base64
import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from castsmith.config import Settings
from tests.conftest import S3Server
from tests.harness import AppEnv
from tests.integration.pipelines.test_posters_support import poster_env

SEED_IMAGE_KEYS = {"id", "path", "base64", "cloud_url"}
SEED_LOOKUP_KEYS = {"image_id", "image_url", "storage_backend", "expires_in_seconds", "cloud_path"}


@pytest.fixture
async def env(sqlite_database_url: str, tmp_path: Path) -> AsyncIterator[AppEnv]:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_database_url)
    async with poster_env(settings) as running:
        yield running


@pytest.fixture
async def cloud_env(pg_database_url: str, s3_settings: Settings) -> AsyncIterator[AppEnv]:
    settings = s3_settings.model_copy(update={"database_url": pg_database_url})
    async with poster_env(settings) as running:
        yield running


async def fetch(env: AppEnv, url: str) -> httpx.Response:
    if url.startswith(str(env.container.settings.public_base_url)):
        parts = urlsplit(url)
        return await env.client.get(f"{parts.path}?{parts.query}")
    async with httpx.AsyncClient() as http:
        return await http.get(url)


async def generate(env: AppEnv, **body: object) -> httpx.Response:
    payload = {"character_description": "A silver metallic humanoid robot with red shield"}
    payload.update(body)
    return await env.client.post("/api/mv/generate_character_reference?wait=60", json=payload)


async def test_generate_returns_the_seed_shape_and_stores_the_images(env: AppEnv) -> None:
    answer = await generate(env, num_images=2, aspect_ratio="16:9")
    assert answer.status_code == 200, answer.text
    images = answer.json()["images"]
    assert len(images) == 2
    for image in images:
        assert set(image) == SEED_IMAGE_KEYS
        uuid.UUID(image["id"])
        assert image["path"] == f"character_references/{image['id']}.png"
        decoded = base64.b64decode(image["base64"])
        with Image.open(io.BytesIO(decoded)) as picture:
            width, height = picture.size
        assert abs(width / height - 16 / 9) < 0.02
        stored = await fetch(env, image["cloud_url"])
        assert stored.status_code == 200
        assert stored.content == decoded
    assert images[0]["base64"] != images[1]["base64"]


async def test_lookup_json_redirect_and_unknown_id(env: AppEnv) -> None:
    image = (await generate(env, num_images=1)).json()["images"][0]
    lookup = await env.client.get(f"/api/mv/get_character_reference/{image['id']}")
    assert lookup.status_code == 200
    body = lookup.json()
    assert set(body) == SEED_LOOKUP_KEYS
    assert body["image_id"] == image["id"]
    assert body["cloud_path"] == image["path"]
    assert body["storage_backend"] == "local"
    assert body["expires_in_seconds"] == 3600
    assert (await fetch(env, body["image_url"])).content == base64.b64decode(image["base64"])

    redirect = await env.client.get(
        f"/api/mv/get_character_reference/{image['id']}", params={"redirect": "true"}
    )
    assert redirect.status_code == 302
    assert (await fetch(env, redirect.headers["location"])).status_code == 200

    missing = await env.client.get(f"/api/mv/get_character_reference/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert "no character reference with id" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"num_images": 0}, "num_images"),
        ({"num_images": 5}, "num_images"),
        ({"aspect_ratio": "2:1"}, "aspect_ratio"),
        ({"character_description": "   "}, "character_description"),
    ],
)
async def test_bad_input_names_the_field(env: AppEnv, body: dict[str, object], field: str) -> None:
    answer = await generate(env, **body)
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    listed = await env.client.get("/api/character-references")
    assert listed.json()["items"] == []


async def test_attach_to_video_job_copies_and_lists(env: AppEnv) -> None:
    images = (await generate(env, num_images=2)).json()["images"]
    ids = [image["id"] for image in images]
    attached = await env.client.post(
        "/api/video-jobs/job-789/character-references", json={"image_ids": ids}
    )
    assert attached.status_code == 200, attached.text
    items = attached.json()["items"]
    assert sorted(item["cloud_path"] for item in items) == sorted(
        f"videos/job-789/intermediate/character_reference/{i}.png" for i in ids
    )
    for item in items:
        assert (await fetch(env, item["image_url"])).status_code == 200
    again = await env.client.post(
        "/api/video-jobs/job-789/character-references", json={"image_ids": ids[:1]}
    )
    assert len(again.json()["items"]) == 2
    bad = await env.client.post(
        "/api/video-jobs/..%2Fescape/character-references", json={"image_ids": ids}
    )
    assert bad.status_code in {404, 422}
    unknown = await env.client.post(
        "/api/video-jobs/job-789/character-references", json={"image_ids": [str(uuid.uuid4())]}
    )
    assert unknown.status_code == 404


async def test_video_job_assets_persist_list_and_download(env: AppEnv) -> None:
    images = (await generate(env, num_images=1)).json()["images"]
    await env.client.post(
        "/api/video-jobs/job-1/character-references", json={"image_ids": [images[0]["id"]]}
    )
    put = await env.client.put(
        "/api/video-jobs/job-1/assets/scenes/scene_01.json",
        files={"file": ("scene_01.json", b'{"shot": 1}', "application/json")},
    )
    assert put.status_code == 201, put.text
    again = await env.client.put(
        "/api/video-jobs/job-1/assets/scenes/scene_01.json",
        files={"file": ("scene_01.json", b'{"shot": 2}', "application/json")},
    )
    assert again.status_code == 409
    listing = (await env.client.get("/api/video-jobs/job-1/assets")).json()["items"]
    paths = [item["path"] for item in listing]
    assert "scenes/scene_01.json" in paths
    assert f"intermediate/character_reference/{images[0]['id']}.png" in paths
    archive = await env.client.get("/api/video-jobs/job-1/assets.zip")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert zipped.read("scenes/scene_01.json") == b'{"shot": 1}'
        assert len(zipped.namelist()) == 2


async def test_s3_presigned_and_local_fallback_when_the_bucket_is_down(
    cloud_env: AppEnv, s3_server: S3Server
) -> None:
    image = (await generate(cloud_env, num_images=1)).json()["images"][0]
    lookup = (await cloud_env.client.get(f"/api/mv/get_character_reference/{image['id']}")).json()
    assert lookup["storage_backend"] == "s3"
    assert "X-Amz-Signature" in lookup["image_url"]
    assert (await fetch(cloud_env, lookup["image_url"])).content == base64.b64decode(
        image["base64"]
    )
    s3_server.stop()
    try:
        fallback = await cloud_env.client.get(f"/api/mv/get_character_reference/{image['id']}")
        assert fallback.status_code == 200, fallback.text
        body = fallback.json()
        assert body["storage_backend"] == "local"
        served = await fetch(cloud_env, body["image_url"])
        assert served.content == base64.b64decode(image["base64"])
        tampered = await fetch(cloud_env, body["image_url"].replace("sig=", "sig=0"))
        assert tampered.status_code == 403
    finally:
        s3_server.start()
