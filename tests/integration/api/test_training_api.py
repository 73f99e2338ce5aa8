"""The training data REST API over ASGI with an in-process worker (offline, SQLite, local)."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from castsmith.api.app import create_app
from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Asset
from castsmith.domain.training_prompts import builtin_library
from tests.integration.pipelines.test_training_support import (
    SEED_ENTRY_FIELDS,
    actor_with_base,
    add_actor,
    png_bytes,
    training_services,
)
from tests.services import free_port

NAME = "0012_european_30_male"
MALE_PROMPTS = len(builtin_library().for_actor("person", "male"))


@pytest.fixture
async def services(sqlite_database_url: str, local_settings: Settings) -> AsyncIterator[Container]:
    settings = local_settings.model_copy(update={"database_url": sqlite_database_url})
    async with training_services(settings, worker=True) as container:
        yield container


@pytest.fixture
async def client(services: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def object_keys(services: Container) -> set[str]:
    return {meta.key async for meta in services.store.list("system_actors/training_data")}


async def test_generate_all_then_again_resumes_without_new_images(
    services: Container, client: httpx.AsyncClient
) -> None:
    actor_id = await actor_with_base(services)
    body = {"actor_id": "0012", "actor_name": NAME, "actor_type": "person", "actor_sex": "male"}
    first = await client.post(
        f"/api/actors/{actor_id}/training-data/generate-all-prompts?wait=60", json=body
    )
    assert first.status_code == 200, first.text
    done = first.json()
    assert done["status"] == "completed"
    assert done["result"]["created"] == MALE_PROMPTS
    assert done["result"]["failed"] == 0
    keys = await object_keys(services)
    assert len(keys) == MALE_PROMPTS

    listing = (await client.get(f"/api/actors/{actor_id}/training-data")).json()
    assert len(listing["training_data"]) == MALE_PROMPTS
    assert listing["statistics"]["training_images_count"] == MALE_PROMPTS
    assert listing["statistics"]["training_synced_count"] == MALE_PROMPTS
    entry = listing["training_data"][0]
    assert set(SEED_ENTRY_FIELDS) <= set(entry)
    assert {e["prompt_id"] for e in listing["training_data"]} == {
        p.id for p in builtin_library().for_actor("person", "male")
    }
    assert sorted(e["filename"] for e in listing["training_data"]) == sorted(
        f"{NAME}_{n}.jpg" for n in range(1, MALE_PROMPTS + 1)
    )

    again = await client.post(
        f"/api/actors/{actor_id}/training-data/generate-all-prompts?wait=60", json=body
    )
    assert again.status_code == 200
    assert again.json()["status"] == "completed"
    assert again.json()["result"]["created"] == 0
    assert again.json()["result"]["skipped"] == MALE_PROMPTS
    assert await object_keys(services) == keys

    # A rejected image's prompt is generated again on the next run.
    rejected_id = listing["training_data"][0]["id"]
    assert (
        await client.delete(f"/api/actors/{actor_id}/training-data/{rejected_id}")
    ).status_code == 200
    third = await client.post(
        f"/api/actors/{actor_id}/training-data/generate-all-prompts?wait=60", json={}
    )
    assert third.json()["result"]["created"] == 1
    assert len(await object_keys(services)) == MALE_PROMPTS + 1


async def test_generate_single_reject_restore_and_export(
    services: Container, client: httpx.AsyncClient
) -> None:
    actor_id = await actor_with_base(services)
    queued = await client.post(
        f"/api/actors/{actor_id}/training-data/generate-single",
        json={"prompt": "A person standing in a dramatic scene", "actor_type": "person"},
    )
    assert queued.status_code == 202
    assert queued.json()["kind"] == "training.generate_one"
    job_id = queued.json()["job_id"]
    assert queued.json()["job"]["provider"] == "offline"
    waited = await client.post(
        f"/api/actors/{actor_id}/training-data/generate-single?wait=30",
        json={"prompt": "A person laughing"},
    )
    assert waited.status_code == 200
    assert waited.json()["result"]["filename"].startswith(NAME)

    from tests.harness import wait_job

    assert (await wait_job(services, job_id)).status == "completed"
    listing = (await client.get(f"/api/actors/{actor_id}/training-data")).json()
    assert len(listing["training_data"]) == 2
    first, second = listing["training_data"]

    rejected = await client.delete(f"/api/actors/{actor_id}/training-data/{second['id']}")
    assert rejected.json()["status"] == "rejected"
    export = await client.get(f"/api/actors/{actor_id}/training-data/export.zip")
    assert export.status_code == 200
    assert export.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    stem = first["filename"].removesuffix(".jpg")
    assert sorted(archive.namelist()) == sorted([first["filename"], f"{stem}.txt"])
    assert archive.read(f"{stem}.txt").decode().startswith("zx12man, ")

    restored = await client.post(f"/api/actors/{actor_id}/training-data/{second['id']}/restore")
    assert restored.json()["status"] == "synced"
    export = await client.get(f"/api/actors/{actor_id}/training-data/export.zip")
    assert len(zipfile.ZipFile(io.BytesIO(export.content)).namelist()) == 4


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("generate-single", {}, 422, "prompt"),
        ("generate-single", {"prompt": "   "}, 422, "prompt"),
        ("generate-single", {"prompt": "x", "provider": "nonesuch"}, 503, None),
        (
            "generate-all-prompts",
            {"base_image_url": "http://127.0.0.1:9/x.png"},
            422,
            "base_image_url",
        ),
        ("generate-all-prompts", {"seed": "many"}, 422, "seed"),
    ],
)
async def test_bad_input_names_the_field(
    services: Container,
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    actor_id = await actor_with_base(services)
    answer = await client.post(f"/api/actors/{actor_id}/training-data/{path}", json=body)
    assert answer.status_code == status, answer.text
    if field:
        assert answer.json()["field"] == field
        assert field in answer.json()["detail"]


async def test_missing_actor_and_missing_base_image(
    services: Container, client: httpx.AsyncClient
) -> None:
    bare = add_actor(services, "0099_no_base")
    answer = await client.post(f"/api/actors/{bare}/training-data/generate-all-prompts")
    assert answer.status_code == 422
    assert answer.json()["field"] == "base_image"
    for url in (
        "/api/actors/4242/training-data",
        "/api/actors/4242/training-data/export.zip",
    ):
        assert (await client.get(url)).status_code == 404
    assert (
        await client.post("/api/actors/4242/training-data/generate-single", json={"prompt": "x"})
    ).status_code == 404
    assert (await client.delete(f"/api/actors/{bare}/training-data/77")).status_code == 404


async def test_training_prompts_are_filtered(client: httpx.AsyncClient) -> None:
    everything = (await client.get("/api/training-prompts")).json()
    assert len(everything["prompts"]) == len(builtin_library().prompts)
    female = (await client.get("/api/training-prompts?actor_type=person&sex=female")).json()
    assert len(female["prompts"]) == len(builtin_library().for_actor("person", "female"))
    assert all("woman" in p["rendered"] or "{subject}" not in p["text"] for p in female["prompts"])


class _PngHandler(BaseHTTPRequestHandler):
    body = png_bytes((30, 90, 200), 48)

    def do_GET(self) -> None:
        if self.path != "/base.png":
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


async def test_base_image_url_overrides_the_stored_base(
    sqlite_database_url: str, local_settings: Settings
) -> None:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _PngHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = local_settings.model_copy(
        update={"database_url": sqlite_database_url, "fetch_allow_hosts": "127.0.0.1"}
    )
    try:
        async with training_services(settings, worker=True) as services:
            actor_id = add_actor(services, "0050_url_only")  # no stored base image
            app = create_app(services)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.post(
                    f"/api/actors/{actor_id}/training-data/generate-single?wait=30",
                    json={
                        "prompt": "Close-up of this person",
                        "base_image_url": f"http://127.0.0.1:{port}/base.png",
                    },
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["status"] == "completed"
                missing = await client.post(
                    f"/api/actors/{actor_id}/training-data/generate-single",
                    json={"prompt": "x", "base_image_url": f"http://127.0.0.1:{port}/nope.png"},
                )
                assert missing.status_code == 422
                assert missing.json()["field"] == "base_image_url"
            with services.sessions() as session:
                asset = session.scalars(select(Asset).where(Asset.kind == "training_image")).one()
                assert asset.parent_asset_id is None
                assert asset.meta["base_image_url"].endswith("/base.png")
                assert asset.width == 48
    finally:
        server.shutdown()
        server.server_close()
