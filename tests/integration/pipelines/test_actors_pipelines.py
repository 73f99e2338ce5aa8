"""Actor pipelines end to end: the base-image job on a real worker, import/export round trips."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.repositories.actors import ActorFilters
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import HandlerRegistry
from castsmith.jobs.worker import Worker
from castsmith.pipelines import actors as use
from castsmith.pipelines.actors import interchange, manifests
from castsmith.pipelines.actors import jobs as actor_jobs
from tests.harness import operator_container

BUCKET = "story-boards-assets"


def poster_frames(name: str) -> dict[str, dict[str, str]]:
    key = f"actors/{name}/poster_frame/{name}_poster"
    return {
        "accelerated": {
            f"webp_{s}": f"https://{BUCKET}.s3-accelerate.amazonaws.com/{key}_{s}.webp"
            for s in ("sm", "md", "lg")
        },
        "standard": {
            f"webp_{s}": f"https://{BUCKET}.s3.us-west-1.amazonaws.com/{key}_{s}.webp"
            for s in ("sm", "md", "lg")
        },
    }


# The shapes of the seed documents: actorsData.json records and a per-actor manifest.
ACTORS_DATA: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "0001_european_20_female",
        "description": "a young European woman with long brown hair",
        "lora_model_url": "s3://bucket/models/0001_european_20_female.safetensors",
        "poster_frames": poster_frames("0001_european_20_female"),
        "url": "https://example.com/0001.jpg",
        "tags": ["studio", "portrait"],
    },
    {
        "id": "12",
        "name": "0012_european_30_male",
        "age": 30,
        "sex": "male",
        "ethnicity": "european",
        "status": {"trained": True},
    },
]


def training_entry(name: str, n: int, status: str = "synced") -> dict[str, Any]:
    return {
        "filename": f"{name}_{n}.jpg",
        "s3_url": f"https://{BUCKET}.s3.us-west-1.amazonaws.com/system_actors/training_data/"
        f"{name}/{name}_{n}.jpg",
        "md5_hash": f"{n:032x}",
        "size_bytes": 799211 + n,
        "size_mb": 0.76,
        "modified_timestamp": 1760621647.1895244 + n,
        "modified_date": "2025-10-16T15:34:07.189524",
        "status": status,
    }


MANIFEST: dict[str, Any] = {
    "character_id": "0012",
    "training_data": [
        training_entry("0012_european_30_male", 14),
        training_entry("0012_european_30_male", 15),
        training_entry("0012_european_30_male", 16, status="pending"),
    ],
    "statistics": {"training_images_count": 3, "training_synced_count": 2},
    "training_data_updated": "2025-10-17T16:46:12.330110",
}


@pytest.fixture
def container(database_url: str, local_settings: Settings) -> Iterator[Container]:
    built = operator_container(local_settings.model_copy(update={"database_url": database_url}))
    yield built
    built.close()


async def test_base_image_job_runs_on_a_worker(container: Container) -> None:
    actor = await use.create_actor(
        container, {"name": "0007_latin_35_female", "description": "short black hair"}
    )
    registry = HandlerRegistry()
    actor_jobs.register_handlers(registry)
    queue = JobQueue(container.engine, registry=registry)
    accepted = await use.enqueue_base_image(container, actor["id"], seed=7)
    again = await use.enqueue_base_image(container, actor["id"], seed=7)
    assert again["job_id"] == accepted["job_id"]  # one job per actor at a time

    worker = Worker(queue, registry, services=container, concurrency=1, poll_interval=0.05)
    running = asyncio.create_task(worker.run())
    try:
        for _ in range(600):
            job = await asyncio.to_thread(queue.get, accepted["job_id"])
            if job.status in {"completed", "failed"}:
                break
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await running
    assert job.status == "completed", job.error
    shown = await use.get_actor(container, actor["id"])
    assert shown["base_image_url"]
    data = await container.store.get("system_actors/base_images/0007_latin_35_female_base.jpg")
    assert data[:3] == b"\xff\xd8\xff"


async def test_actors_data_and_manifests_round_trip(container: Container, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "actorsData.json").write_text(json.dumps(ACTORS_DATA))
    (source / "0012_manifest.json").write_text(json.dumps(MANIFEST))

    counts = await interchange.import_actors_data_file(container, source / "actorsData.json")
    assert counts == {"created": 2, "updated": 0, "posters": 1}
    assert await manifests.import_manifests_dir(container, source)
    # Importing again updates in place instead of duplicating.
    again = await interchange.import_actors_data_file(container, source / "actorsData.json")
    assert again == {"created": 0, "updated": 2, "posters": 0}
    await manifests.import_manifests_dir(container, source)

    listed = await use.list_actors(container, ActorFilters(has_poster=True), cursor=None, limit=10)
    assert [a["name"] for a in listed["items"]] == ["0001_european_20_female"]
    assert listed["items"][0]["poster_frames"] == ACTORS_DATA[0]["poster_frames"]

    out = tmp_path / "out"
    assert await interchange.export_actors_data_file(container, out / "actorsData.json") == 2
    written = await manifests.export_manifests_dir(container, out)
    assert [p.name for p in written] == ["0012_manifest.json"]

    exported = json.loads((out / "actorsData.json").read_text())
    for original, back in zip(ACTORS_DATA, exported, strict=True):
        for field, value in original.items():
            assert back[field] == value, field
    manifest = json.loads((out / "0012_manifest.json").read_text())
    for field in ("character_id", "statistics", "training_data_updated"):
        assert manifest[field] == MANIFEST[field], field
    # The seed's fields come back as they were; castsmith adds a `checks` object beside them.
    seed_fields = [
        {key: value for key, value in item.items() if key != "checks"}
        for item in manifest["training_data"]
    ]
    assert seed_fields == MANIFEST["training_data"]
    assert all("checks" in item for item in manifest["training_data"])

    twelve = await use.list_actors(
        container, ActorFilters(q="0012_european"), cursor=None, limit=10
    )
    one = twelve["items"][0]
    assert one["age"] == 30 and one["sex"] == "male"
    assert await manifests.actor_manifest(container, one["id"]) == manifest


async def test_bad_import_changes_nothing(container: Container, tmp_path: Path) -> None:
    path = tmp_path / "actorsData.json"
    path.write_text(json.dumps([{"id": 1, "name": "fine_name"}, {"id": 2, "name": "../up"}]))
    with pytest.raises(Exception, match="record 1") as caught:
        await interchange.import_actors_data_file(container, path)
    assert getattr(caught.value, "field", None) == "name"
    page = await use.list_actors(container, ActorFilters(), cursor=None, limit=10)
    assert page["total"] == 0
