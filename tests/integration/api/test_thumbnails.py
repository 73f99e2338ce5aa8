"""Grid thumbnails: made when an image is stored, made once on demand for older images,
and never shown to another user; on SQLite + local folder and PostgreSQL + S3."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image
from sqlalchemy import delete, func, select

from castsmith.config import Settings
from castsmith.db.models import AssetRendition, PersonaResult, TrainingDataItem
from castsmith.jobs.worker import Worker
from castsmith.pipelines.thumbnails import THUMB, THUMB_SIDE
from tests.harness import WORKER_DEFAULTS, wait_job
from tests.integration.auth.conftest import Cast, make_cast

S3_FIELDS = (
    "storage_backend",
    "s3_bucket",
    "s3_endpoint",
    "s3_region",
    "s3_access_key",
    "s3_secret_key",
    "s3_addressing",
    "s3_allow_http",
)


@pytest.fixture(params=["sqlite+local", "postgres+s3"])
async def cast(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cast]:
    """Alice, Bob and an admin on the embedded default, or on PostgreSQL with S3; with a
    worker running the jobs."""
    options: dict[str, Any] = {}
    if request.param == "sqlite+local":
        url = str(request.getfixturevalue("sqlite_database_url"))
    else:
        url = str(request.getfixturevalue("pg_database_url"))
        s3: Settings = request.getfixturevalue("s3_settings")
        options = {name: getattr(s3, name) for name in S3_FIELDS}
    async for value in make_cast(tmp_path, url, **options):
        worker = Worker(
            value.container.queue,
            value.container.registry,
            services=value.container,
            **WORKER_DEFAULTS,
        )
        running = asyncio.create_task(worker.run())
        try:
            yield value
        finally:
            worker.stop()
            await asyncio.wait_for(running, 30)


def photo(size: int = 1024) -> bytes:
    """A 1024 px PNG with detail in it (a flat colour would make every file tiny)."""
    rng = random.Random(7)
    image = Image.new("RGB", (size, size), (150, 110, 90))
    pixels = image.load()
    assert pixels is not None
    for y in range(0, size, 4):
        for x in range(0, size, 4):
            shade = (x * 255 // size, y * 255 // size, rng.randrange(256))
            for dy in range(4):
                for dx in range(4):
                    pixels[x + dx, y + dy] = shade
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def fetch(cast: Cast, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """Open ``url`` as a browser would: the app's own links through the app, S3's on S3."""
    parts = urlsplit(url)
    if not parts.netloc or parts.path.startswith(("/files/", "/api/")):
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        return await cast.http.get(target, headers=headers)
    async with httpx.AsyncClient() as client:
        return await client.get(url)


def webp_size(data: bytes) -> tuple[int, int]:
    """The pixel size of a WebP (fails the test if the bytes are not one)."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    return image.size


async def training_image(cast: Cast) -> tuple[int, dict[str, Any]]:
    """Alice's actor with a 1024 px base image and one training image; the actor id and
    the image's listing entry."""
    alice = cast.auth("alice")
    made = await cast.http.post("/api/actors", json={"name": "Thumbs"}, headers=alice)
    actor = made.json()["id"]
    base = await cast.http.put(
        f"/api/actors/{actor}/base-image",
        files={"file": ("a.png", photo(), "image/png")},
        headers=alice,
    )
    assert base.status_code == 200, base.text
    single = await cast.http.post(
        f"/api/actors/{actor}/training-data/generate-single?wait=0",
        json={"prompt": "a portrait in soft light"},
        headers=alice,
    )
    assert single.is_success, single.text
    assert (await wait_job(cast.container, single.json()["job_id"])).status == "completed"
    listing = await cast.http.get(f"/api/actors/{actor}/training-data", headers=alice)
    [entry] = listing.json()["training_data"]
    return actor, entry


def asset_of(cast: Cast, item_id: int) -> int:
    with cast.container.sessions() as session:
        asset_id = session.scalar(
            select(TrainingDataItem.asset_id).where(TrainingDataItem.id == item_id)
        )
    assert asset_id is not None
    return asset_id


def thumbs_of(cast: Cast, asset_id: int) -> list[AssetRendition]:
    with cast.container.sessions() as session:
        rows = session.scalars(
            select(AssetRendition).where(
                AssetRendition.asset_id == asset_id, AssetRendition.name == THUMB
            )
        )
        return list(rows)


async def test_a_stored_training_image_comes_with_a_small_webp_thumbnail(cast: Cast) -> None:
    _, entry = await training_image(cast)
    assert "/api/assets/" not in entry["thumb_url"]  # made when stored, not on demand
    full = await fetch(cast, entry["url"])
    thumb = await fetch(cast, entry["thumb_url"])
    assert full.status_code == thumb.status_code == 200
    width, height = webp_size(thumb.content)
    assert max(width, height) == THUMB_SIDE
    assert (entry["width"], entry["height"]) == (1024, 1024)
    # A fraction of the full image: this is what makes 200 of them a light page.
    assert len(thumb.content) < 40_000
    assert len(thumb.content) * 5 < len(full.content)
    [row] = thumbs_of(cast, asset_of(cast, entry["id"]))
    assert (row.width, row.height, row.size_bytes) == (width, height, len(thumb.content))
    assert row.content_type == "image/webp"


async def test_an_older_image_gets_its_thumbnail_once_on_demand(cast: Cast) -> None:
    actor, entry = await training_image(cast)
    asset_id = asset_of(cast, entry["id"])
    # As an image stored before thumbnails existed: no rendition, no object.
    [made] = thumbs_of(cast, asset_id)
    with cast.container.sessions.begin() as session:
        session.execute(delete(AssetRendition).where(AssetRendition.id == made.id))
    await cast.container.store.delete(made.storage_key)
    alice = cast.auth("alice")
    listing = await cast.http.get(f"/api/actors/{actor}/training-data", headers=alice)
    route = f"/api/assets/{asset_id}/thumb"
    assert listing.json()["training_data"][0]["thumb_url"] == route

    first = await cast.http.get(route, headers=alice)
    assert first.status_code == 302, first.text
    assert "max-age" in first.headers["cache-control"]
    image = await fetch(cast, first.headers["location"])
    assert max(webp_size(image.content)) == THUMB_SIDE
    [row] = thumbs_of(cast, asset_id)
    assert row.storage_key in urlsplit(first.headers["location"]).path

    # Asked again (and by the admin): the same thumbnail, not a new one.
    again = await cast.http.get(route, headers=alice)
    admin = await cast.http.get(route, headers=cast.auth("root"))
    for answer in (again, admin):
        assert answer.status_code == 302
        assert row.storage_key in urlsplit(answer.headers["location"]).path
    assert [r.id for r in thumbs_of(cast, asset_id)] == [row.id]
    listing = await cast.http.get(f"/api/actors/{actor}/training-data", headers=alice)
    assert row.storage_key in listing.json()["training_data"][0]["thumb_url"]

    # Another user: the same answer as for an id that does not exist, and nothing made.
    with cast.container.sessions.begin() as session:
        session.execute(delete(AssetRendition).where(AssetRendition.id == row.id))
    bob = await cast.http.get(route, headers=cast.auth("bob"))
    missing = await cast.http.get(f"/api/assets/{asset_id + 1000}/thumb", headers=alice)
    assert bob.status_code == missing.status_code == 404
    assert thumbs_of(cast, asset_id) == []


async def test_many_first_views_at_once_make_one_thumbnail(cast: Cast) -> None:
    _, entry = await training_image(cast)
    asset_id = asset_of(cast, entry["id"])
    [made] = thumbs_of(cast, asset_id)
    with cast.container.sessions.begin() as session:
        session.execute(delete(AssetRendition).where(AssetRendition.id == made.id))
    await cast.container.store.delete(made.storage_key)
    # A grid of one image opened in six tabs at once: each asks for the missing thumbnail.
    route, alice = f"/api/assets/{asset_id}/thumb", cast.auth("alice")
    answers = await asyncio.gather(*(cast.http.get(route, headers=alice) for _ in range(6)))
    assert {answer.status_code for answer in answers} == {302}
    [row] = thumbs_of(cast, asset_id)
    for answer in answers:
        location = answer.headers["location"]
        assert row.storage_key in urlsplit(location).path
        assert max(webp_size((await fetch(cast, location)).content)) == THUMB_SIDE


async def test_persona_and_reference_images_have_thumbnails_only_their_owner_opens(
    cast: Cast,
) -> None:
    alice, bob = cast.auth("alice"), cast.auth("bob")
    task = (await cast.http.post("/api/persona-tasks", json={"count": 1}, headers=alice)).json()
    assert (await wait_job(cast.container, task["job_id"], 120)).status == "completed"
    detail = (await cast.http.get(f"/api/persona-tasks/{task['task_id']}", headers=alice)).json()
    images = detail["results"][0]["images"]
    assert len(images) == 5
    for image in images:
        assert "/api/assets/" not in image["thumb_url"]
        data = (await fetch(cast, image["thumb_url"])).content
        assert max(webp_size(data)) <= THUMB_SIDE

    made = await cast.http.post(
        "/api/mv/generate_character_reference?wait=60",
        json={"character_description": "a tall woman in a green coat", "num_images": 2},
        headers=alice,
    )
    assert made.is_success, made.text
    refs = (await cast.http.get("/api/character-references", headers=alice)).json()["items"]
    assert len(refs) == 2
    for ref in refs:
        assert "/api/assets/" not in ref["thumb_url"]
        assert max(webp_size((await fetch(cast, ref["thumb_url"])).content)) <= THUMB_SIDE

    # Persona images have no owner of their own: their task's owner decides.
    with cast.container.sessions() as session:
        persona_asset = session.scalar(select(PersonaResult.image_0_asset_id))
        count = session.scalar(select(func.count()).select_from(AssetRendition))
    assert persona_asset is not None
    answer = await cast.http.get(f"/api/assets/{persona_asset}/thumb", headers=bob)
    assert answer.status_code == 404
    mine = await cast.http.get(f"/api/assets/{persona_asset}/thumb", headers=alice)
    assert mine.status_code == 302
    with cast.container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AssetRendition)) == count
