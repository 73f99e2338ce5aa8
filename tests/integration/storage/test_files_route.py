"""``GET /files/{key}``: local objects behind signed, expiring links, served in-process."""

from __future__ import annotations

import io
import random
import types
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from castsmith.api.files import router
from castsmith.storage.base import ObjectStore
from castsmith.storage.local import LocalStore
from castsmith.storage.urls import UrlBuilder

BASE = "http://castsmith.test"


class Clock:
    """A settable clock so expiry is tested without waiting."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(1_800_000_000.0)


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "storage")


@pytest.fixture
def urls(clock: Clock) -> UrlBuilder:
    return UrlBuilder(backend="local", secret=b"route-secret", public_base_url=BASE, clock=clock)


@pytest.fixture
async def client(local_store: ObjectStore, urls: UrlBuilder) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.container = types.SimpleNamespace(store=local_store, urls=urls)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


def noisy_webp() -> bytes:
    """A real WebP of a few hundred KB (noise compresses badly), served by its sniffed type."""
    image = Image.frombytes("RGB", (512, 512), random.Random(7).randbytes(512 * 512 * 3))
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=95)
    return out.getvalue()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_signed_link_serves_bytes_and_type(
    client: httpx.AsyncClient, local_store: LocalStore, urls: UrlBuilder
) -> None:
    key = "actors/0001_european_20_female/poster_frame/v1/0001_european_20_female_poster_md.webp"
    body = noisy_webp()
    await local_store.put(key, body, content_type="image/webp", cache_control="max-age=60")
    response = await client.get(path_of(urls.local_url(key)))
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["cache-control"] == "max-age=60"


async def test_keys_with_spaces(
    client: httpx.AsyncClient, local_store: LocalStore, urls: UrlBuilder
) -> None:
    key = "character_references/Zoë 1.png"
    await local_store.put(key, b"png", content_type="image/png")
    response = await client.get(path_of(urls.local_url(key)))
    assert (response.status_code, response.content) == (200, b"png")


async def test_expired_link_is_refused(
    client: httpx.AsyncClient, local_store: LocalStore, urls: UrlBuilder, clock: Clock
) -> None:
    await local_store.put("a/b.png", b"png", content_type="image/png")
    url = urls.local_url("a/b.png", expires_in=60)
    clock.now += 61
    response = await client.get(path_of(url))
    assert response.status_code == 403
    assert "expired" in response.json()["detail"]


async def test_tampered_links_are_refused(
    client: httpx.AsyncClient, local_store: LocalStore, urls: UrlBuilder
) -> None:
    await local_store.put("a/b.png", b"png", content_type="image/png")
    await local_store.put("a/c.png", b"other", content_type="image/png")
    url = path_of(urls.local_url("a/b.png", expires_in=60))
    longer = url.replace("expires=", "expires=9")
    other_key = url.replace("/files/a/b.png", "/files/a/c.png")
    for bad in (longer, other_key, url.replace("sig=", "sig=0"), "/files/a/b.png"):
        response = await client.get(bad)
        assert response.status_code == 403, bad
        assert response.json()["detail"]
    response = await client.get(url.split("&")[0] + "&sig=x&expires=soon")
    assert response.status_code == 403


async def test_missing_object_is_404(client: httpx.AsyncClient, urls: UrlBuilder) -> None:
    response = await client.get(path_of(urls.local_url("nothing/here.png")))
    assert response.status_code == 404
    assert "nothing/here.png" in response.json()["detail"]


async def test_escaping_keys_never_reach_the_disk(
    client: httpx.AsyncClient, urls: UrlBuilder, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("do not serve")
    sig = urls.signature("../secret.txt", 2_000_000_000)
    for path in (
        "/files/../secret.txt",
        "/files/%2E%2E/secret.txt",
        "/files/a/%2E%2E/%2E%2E/secret.txt",
    ):
        response = await client.get(f"{path}?expires=2000000000&sig={sig}")
        assert response.status_code in (403, 404), path
        assert b"do not serve" not in response.content
