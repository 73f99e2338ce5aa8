"""Local-folder specifics: plain files at their keys, hidden sidecars, guessed types."""

from __future__ import annotations

from pathlib import Path

import pytest

from castsmith.domain.errors import InvalidName
from castsmith.storage.local import META_DIR, LocalStore


async def test_objects_are_plain_files_at_their_keys(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "root")
    await store.put("system_actors/base_images/0001_a_base.jpg", b"jpeg", content_type="image/jpeg")
    path = tmp_path / "root" / "system_actors/base_images/0001_a_base.jpg"
    assert path.read_bytes() == b"jpeg"
    assert store.path_for("system_actors/base_images/0001_a_base.jpg") == path.resolve()
    listed = [meta.key async for meta in store.list()]
    assert listed == ["system_actors/base_images/0001_a_base.jpg"]


async def test_sidecar_folder_is_reserved(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(InvalidName, match="reserved"):
        await store.put(f"{META_DIR}/x.json", b"{}", content_type="application/json")


async def test_files_added_by_hand_get_a_guessed_type(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (tmp_path / "imports").mkdir()
    (tmp_path / "imports" / "poster.webp").write_bytes(b"RIFF")
    meta = await store.head("imports/poster.webp")
    assert meta is not None
    assert (meta.content_type, meta.size) == ("image/webp", 4)
    await store.copy("imports/poster.webp", "copies/poster.webp")
    copied = await store.head("copies/poster.webp")
    assert copied is not None and copied.content_type == "image/webp"


async def test_delete_removes_the_sidecar(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    await store.put("a/b.bin", b"1", content_type="application/x-custom")
    await store.delete("a/b.bin")
    assert not (tmp_path / META_DIR / "a" / "b.bin.json").exists()
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "a" / "b.bin").write_bytes(b"2")
    meta = await store.head("a/b.bin")
    assert meta is not None and meta.content_type == "application/octet-stream"


async def test_staging_shaped_names_are_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(InvalidName, match="#"):
        await store.put("a/b.png#12", b"x", content_type="image/png")
    await store.put("a/b#c.png", b"x", content_type="image/png")
    assert [meta.key async for meta in store.list("a")] == ["a/b#c.png"]
