"""The actors REST API over ASGI, on SQLite + local storage and PostgreSQL + S3."""

from __future__ import annotations

import io
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from castsmith.api.app import create_app
from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Asset, Job
from tests.harness import operator_container
from tests.services import free_port


def png_bytes(color: tuple[int, int, int] = (200, 120, 40), size: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


class ImageServer:
    """A plain HTTP server on loopback: /img.png, /redirect?to=URL, /missing."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        body = png_bytes((10, 200, 90))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/img.png":
                    self.send_response(200)
                    self.send_header("content-type", "image/png")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path.startswith("/redirect?to="):
                    self.send_response(302)
                    self.send_header("location", self.path.split("=", 1)[1])
                    self.send_header("content-length", "0")
                    self.end_headers()
                elif self.path == "/text":
                    self.send_response(200)
                    self.send_header("content-type", "image/png")
                    self.send_header("content-length", "5")
                    self.end_headers()
                    self.wfile.write(b"hello")
                else:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def image_server() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite-local", "postgres-s3"])
def settings(request: pytest.FixtureRequest) -> Settings:
    if request.param == "sqlite-local":
        base: Settings = request.getfixturevalue("local_settings")
        url = request.getfixturevalue("sqlite_database_url")
    else:
        base = request.getfixturevalue("s3_settings")
        url = request.getfixturevalue("pg_database_url")
    return base.model_copy(update={"database_url": url, "fetch_allow_hosts": "127.0.0.1"})


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    container = operator_container(settings)
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, container
    container.close()


async def keys_under(container: Container, prefix: str) -> list[str]:
    return sorted([meta.key async for meta in container.store.list(prefix)])


def asset_count(container: Container) -> int:
    with container.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Asset)) or 0)


async def test_crud_search_pages_and_soft_delete(
    stack: tuple[httpx.AsyncClient, Container],
) -> None:
    client, _ = stack
    made = []
    for i, (sex, desc) in enumerate(
        [("female", "long brown hair"), ("male", "short blond hair"), ("female", "red coat")]
    ):
        response = await client.post(
            "/api/actors",
            json={"name": f"000{i + 1}_european_2{i}_{sex}", "description": desc, "sex": sex},
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    first = made[0]
    assert first["base_image_url"] is None and first["poster_frames"] is None
    assert first["lora"] is None and first["actor_type"] == "person"

    page = (await client.get("/api/actors", params={"limit": 2})).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_cursor"]
    rest = await client.get("/api/actors", params={"limit": 2, "cursor": page["next_cursor"]})
    assert [a["id"] for a in rest.json()["items"]] == [made[2]["id"]]
    assert rest.json()["next_cursor"] is None

    found = (await client.get("/api/actors", params={"q": "HAIR", "sex": "female"})).json()
    assert [a["name"] for a in found["items"]] == [first["name"]]

    patched = await client.patch(
        f"/api/actors/{first['id']}",
        json={"lora": {"name": "0001_european_20_female.safetensors", "trigger_word": "ohwx"}},
    )
    assert patched.status_code == 200
    assert patched.json()["lora"]["trigger_word"] == "ohwx"
    with_lora = (await client.get("/api/actors", params={"has_lora": "true"})).json()
    assert [a["id"] for a in with_lora["items"]] == [first["id"]]
    assert (await client.get("/api/actors", params={"has_poster": "true"})).json()["total"] == 0

    assert (await client.delete(f"/api/actors/{first['id']}")).status_code == 204
    assert (await client.get(f"/api/actors/{first['id']}")).status_code == 404
    assert (await client.get("/api/actors")).json()["total"] == 2
    restored = await client.post(f"/api/actors/{first['id']}/restore")
    assert restored.status_code == 200 and restored.json()["lora"]["name"]
    assert (await client.get("/api/actors")).json()["total"] == 3


async def test_bad_input_is_refused_with_the_field(
    stack: tuple[httpx.AsyncClient, Container],
) -> None:
    client, _ = stack
    for name in ["", "../etc", "a/b", "bad\x00name", "x" * 101, "has space"]:
        response = await client.post("/api/actors", json={"name": name})
        assert response.status_code == 422, name
        assert response.json()["field"] == "name"
    assert (await client.post("/api/actors", json={"name": "v1.2-ok_name"})).status_code == 201
    duplicate = await client.post("/api/actors", json={"name": "v1.2-ok_name"})
    assert duplicate.status_code == 409
    assert (await client.get("/api/actors/999999")).status_code == 404
    assert (await client.patch("/api/actors/999999", json={"age": 3})).status_code == 404
    assert (
        await client.put(
            "/api/actors/999999/base-image", files={"file": ("a.png", png_bytes(), "image/png")}
        )
    ).status_code == 404
    bad_age = await client.post("/api/actors", json={"name": "n2", "age": 400})
    assert bad_age.status_code == 422 and bad_age.json()["field"] == "age"
    assert (await client.get("/api/actors", params={"cursor": "garbage!"})).status_code == 422


async def test_base_image_upload_never_overwrites(
    stack: tuple[httpx.AsyncClient, Container],
) -> None:
    client, container = stack
    actor = (await client.post("/api/actors", json={"name": "0012_european_30_male"})).json()
    url = f"/api/actors/{actor['id']}/base-image"
    first = await client.put(url, files={"file": ("face.png", png_bytes(), "image/png")})
    assert first.status_code == 200, first.text
    assert first.json()["base_image_url"]
    second = await client.put(url, files={"file": ("face.png", png_bytes((1, 2, 3)), "image/png")})
    assert second.status_code == 200
    keys = await keys_under(container, "system_actors/base_images")
    assert keys == [
        "system_actors/base_images/0012_european_30_male_base.jpg",
        "system_actors/base_images/0012_european_30_male_base_2.jpg",
    ]
    stored = await container.store.get(keys[1])
    assert stored[:3] == b"\xff\xd8\xff"  # JPEG
    assert asset_count(container) == 2

    not_image = await client.put(url, files={"file": ("x.png", b"not an image", "image/png")})
    assert not_image.status_code == 422 and not_image.json()["field"] == "file"
    assert len(await keys_under(container, "system_actors")) == 2
    assert asset_count(container) == 2

    assert (await client.delete(f"/api/actors/{actor['id']}?purge=true")).status_code == 204
    assert await keys_under(container, "system_actors") == []
    assert asset_count(container) == 0
    assert (await client.post(f"/api/actors/{actor['id']}/restore")).status_code == 404


async def test_base_image_from_url(
    stack: tuple[httpx.AsyncClient, Container], image_server: ImageServer
) -> None:
    client, container = stack
    actor = (await client.post("/api/actors", json={"name": "0003_asian_40_female"})).json()
    url = f"/api/actors/{actor['id']}/base-image/from-url"
    ok = await client.post(url, json={"url": f"{image_server.base}/img.png"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["base_image_url"]

    refusals = [
        f"{image_server.base}/missing",
        f"{image_server.base}/text",
        "ftp://example.com/x.png",
        f"http://127.0.0.1:{free_port()}/closed.png",
        f"{image_server.base}/redirect?to=http://10.1.2.3/x.png",
        f"{image_server.base}/redirect?to=http://localhost:{image_server.port}/img.png",
        "http://169.254.169.254/latest/meta-data/",
    ]
    for bad in refusals:
        response = await client.post(url, json={"url": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["field"] == "url"
    assert len(await keys_under(container, "system_actors")) == 1
    assert asset_count(container) == 1


async def test_generate_base_image_is_a_job(stack: tuple[httpx.AsyncClient, Container]) -> None:
    client, container = stack
    actor = (
        await client.post(
            "/api/actors", json={"name": "0020_african_25_male", "description": "curly hair"}
        )
    ).json()
    response = await client.post(f"/api/actors/{actor['id']}/base-image/generate")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["kind"] == "actor.base_image" and body["status"] == "queued"
    with container.sessions() as session:
        job = session.get(Job, body["job_id"])
        assert job is not None and job.payload["actor_id"] == actor["id"]
    missing = await client.post("/api/actors/999999/base-image/generate")
    assert missing.status_code == 404
