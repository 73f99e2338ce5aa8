"""Pure parts of the training pipeline: captions, options, the prompt listing, zip bytes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from castsmith.config import Settings
from castsmith.domain.training_prompts import builtin_library
from castsmith.pipelines.training import GenerateOptions
from castsmith.pipelines.training.dataset import caption, prompt_listing, stream_zip
from castsmith.storage.factory import store_from_settings


def test_caption_starts_with_the_trigger_word() -> None:
    assert caption("zx12man", "smiling at the camera") == "zx12man, smiling at the camera"
    assert caption("zx12man", None) == "zx12man"


def test_options_survive_a_job_payload() -> None:
    options = GenerateOptions(provider="replicate", actor_sex="female", seed=7)
    payload = {"actor_id": 3, **options.payload()}
    assert payload == {"actor_id": 3, "provider": "replicate", "actor_sex": "female", "seed": 7}
    assert GenerateOptions.from_payload(payload) == options


def test_prompt_listing_filters_and_renders() -> None:
    library = builtin_library()
    assert len(prompt_listing(None, None)["prompts"]) == len(library.prompts)
    male = prompt_listing("person", "male")
    assert [p["id"] for p in male["prompts"]] == [p.id for p in library.for_actor("person", "male")]
    assert all("{subject}" not in p["rendered"] for p in male["prompts"])


class _Services:
    def __init__(self, store: Any) -> None:
        self.store = store


async def test_zip_is_streamed_per_image_and_readable(tmp_path: Path) -> None:
    files = [(f"k/{n}.jpg", f"a_{n}.jpg", f"tw, prompt {n}") for n in range(1, 4)]
    store = store_from_settings(Settings(data_dir=tmp_path))
    for n, (key, _, _) in enumerate(files):
        await store.put(key, bytes([n]) * 5000, content_type="image/jpeg")
    chunks = [chunk async for chunk in stream_zip(_Services(store), files)]  # type: ignore[arg-type]
    assert len(chunks) >= 3  # one piece per image at least, not one blob at the end
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.namelist() == [
        "a_1.jpg",
        "a_1.txt",
        "a_2.jpg",
        "a_2.txt",
        "a_3.jpg",
        "a_3.txt",
    ]
    assert archive.read("a_2.txt") == b"tw, prompt 2\n"
    assert archive.testzip() is None
