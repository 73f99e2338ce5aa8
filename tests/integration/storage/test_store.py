"""The object store contract, on the local folder and on S3 over real HTTP."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from castsmith.domain.errors import InvalidName, NotFound
from castsmith.storage.base import ObjectStore, PutItem

WEBP = "image/webp"


async def test_put_get_and_head(store: ObjectStore) -> None:
    key = "actors/0001_european_20_female/poster_frame/v1/0001_european_20_female_poster_sm.webp"
    stored = await store.put(key, b"RIFF-webp-bytes", content_type=WEBP, cache_control="max-age=60")
    assert stored.key == key
    assert stored.size == len(b"RIFF-webp-bytes")
    assert stored.content_type == WEBP

    assert await store.get(key) == b"RIFF-webp-bytes"
    meta = await store.head(key)
    assert meta is not None
    assert meta.key == key
    assert meta.size == 15
    assert meta.content_type == WEBP
    assert meta.cache_control == "max-age=60"
    assert meta.etag
    assert abs(meta.last_modified - datetime.now(UTC)) < timedelta(minutes=5)
    assert await store.exists(key)


async def test_overwrite_replaces_content_type(store: ObjectStore) -> None:
    await store.put("x/data", b"one", content_type="text/plain", cache_control="no-cache")
    await store.put("x/data", b"{}", content_type="application/json")
    meta = await store.head("x/data")
    assert meta is not None
    assert (meta.content_type, meta.cache_control, meta.size) == ("application/json", None, 2)
    assert await store.get("x/data") == b"{}"


async def test_missing_keys(store: ObjectStore) -> None:
    assert await store.head("nothing/here.png") is None
    assert not await store.exists("nothing/here.png")
    with pytest.raises(NotFound, match=r"nothing/here\.png"):
        await store.get("nothing/here.png")
    with pytest.raises(NotFound):
        await store.get_meta("nothing/here.png")
    with pytest.raises(NotFound, match="nothing/here"):
        async for _ in store.get_stream("nothing/here.png"):
            pass
    with pytest.raises(NotFound):
        await store.copy("nothing/here.png", "elsewhere.png")


async def test_delete_is_idempotent(store: ObjectStore) -> None:
    await store.put("a/b.png", b"png", content_type="image/png")
    await store.delete("a/b.png")
    assert await store.head("a/b.png") is None
    await store.delete("a/b.png")
    assert [meta.key async for meta in store.list("a")] == []


async def test_list_with_prefix(store: ObjectStore) -> None:
    for key in ["actors/a/1.png", "actors/a/2.png", "actors/b/1.png", "actorsx/1.png"]:
        await store.put(key, b"x" * 3, content_type="image/png")
    under_a = sorted([meta.key async for meta in store.list("actors/a")])
    assert under_a == ["actors/a/1.png", "actors/a/2.png"]
    with_slash = sorted([meta.key async for meta in store.list("actors/a/")])
    assert with_slash == under_a
    under_actors = sorted([meta.key async for meta in store.list("actors")])
    assert under_actors == ["actors/a/1.png", "actors/a/2.png", "actors/b/1.png"]
    everything = [meta async for meta in store.list()]
    assert sorted(meta.key for meta in everything) == [*under_actors, "actorsx/1.png"]
    assert all(meta.size == 3 and meta.last_modified.tzinfo for meta in everything)


async def test_copy_keeps_bytes_and_content_type(store: ObjectStore) -> None:
    await store.put("src/p.webp", b"poster", content_type=WEBP, cache_control="max-age=9")
    await store.copy("src/p.webp", "dst/p.webp")
    assert await store.get("dst/p.webp") == b"poster"
    meta = await store.head("dst/p.webp")
    assert meta is not None
    assert meta.content_type == WEBP
    assert await store.get("src/p.webp") == b"poster"


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_large_object_streams_in_and_out(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(12 * 1024 * 1024 + 123)
    stored = await store.put_stream(
        "big/blob.bin", _chunks(data, 1024 * 1024), content_type="application/octet-stream"
    )
    assert stored.size == len(data)
    digest = hashlib.sha256()
    count = 0
    async for chunk in store.get_stream("big/blob.bin", chunk_size=1024 * 1024):
        digest.update(chunk)
        count += 1
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert count > 1

    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    from_file = await store.put_file("big/file.bin", path, content_type="application/zip")
    assert from_file.size == len(data)
    meta = await store.head("big/file.bin")
    assert meta is not None
    assert (meta.size, meta.content_type) == (len(data), "application/zip")
    assert await store.get("big/file.bin") == data


async def test_put_many_in_parallel(store: ObjectStore) -> None:
    items = [PutItem(f"batch/{n:02d}.png", f"image {n}".encode(), "image/png") for n in range(50)]
    results = await store.put_many(items, concurrency=8)
    assert [result.key for result in results] == [item.key for item in items]
    listed = sorted([meta.key async for meta in store.list("batch")])
    assert listed == [item.key for item in items]
    assert await store.get("batch/37.png") == b"image 37"


async def test_put_many_reports_the_failing_key(store: ObjectStore) -> None:
    items = [PutItem("ok/1.png", b"1", "image/png"), PutItem("ok/../x.png", b"2", "image/png")]
    with pytest.raises(InvalidName):
        await store.put_many(items)


@pytest.mark.parametrize("key", ["../x", "a/../../b", "a\x01b", "a/\x1b[31m", "/abs", "a//b", ""])
async def test_keys_that_could_escape_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidName):
        await store.put(key, b"x", content_type="text/plain")
    with pytest.raises(InvalidName):
        await store.get(key)
    with pytest.raises(InvalidName):
        await store.head(key)
    with pytest.raises(InvalidName):
        await store.delete(key)


async def test_keys_with_spaces_and_unicode_round_trip(store: ObjectStore) -> None:
    key = "characters/Zoë B+C/ref 1.png"
    await store.put(key, b"zoe", content_type="image/png")
    assert await store.get(key) == b"zoe"
    assert [meta.key async for meta in store.list("characters")] == [key]


async def test_half_written_objects_are_never_visible(store: ObjectStore) -> None:
    seen: list[object] = []

    async def slow_chunks() -> AsyncIterator[bytes]:
        yield b"a" * (6 * 1024 * 1024)
        # Mid-upload: neither the key nor any staging file may show.
        seen.append(await store.head("partial/obj.bin"))
        seen.append([meta.key async for meta in store.list()])
        yield b"b" * 1024

    await store.put_stream("partial/obj.bin", slow_chunks(), content_type="text/plain")
    assert seen == [None, []]
    meta = await store.head("partial/obj.bin")
    assert meta is not None and meta.size == 6 * 1024 * 1024 + 1024
