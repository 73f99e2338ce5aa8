"""Training images end to end on the offline provider: storage, numbering, listing, export."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select

from castsmith.config import Settings
from castsmith.db.models import Asset, TrainingDataItem
from castsmith.domain.errors import NotFound, ValidationError
from castsmith.pipelines.training import dataset
from castsmith.pipelines.training.generate import generate_training_image
from castsmith.pipelines.training.images import TrainingRequest
from tests.integration.pipelines.test_training_support import (
    SEED_ENTRY_FIELDS,
    actor_with_base,
    add_actor,
    training_services,
)

NAME = "0012_european_30_male"


@pytest.fixture
def local_settings(sqlite_database_url: str, local_settings: Settings) -> Settings:
    """The embedded default (SQLite + local folder) on a migrated database."""
    return local_settings.model_copy(update={"database_url": sqlite_database_url})


def key_of(n: int, name: str = NAME) -> str:
    return f"system_actors/training_data/{name}/{name}_{n}.jpg"


async def test_one_image_is_stored_and_listed_in_the_seed_shape(local_settings: Settings) -> None:
    async with training_services(local_settings) as services:
        actor_id = await actor_with_base(services)
        image = await generate_training_image(
            services, TrainingRequest(actor_id, "A person in a dramatic scene")
        )
        assert image.key == key_of(1)
        assert image.filename == f"{NAME}_1.jpg"
        stored = await services.store.get(image.key)
        assert stored[:3] == b"\xff\xd8\xff"  # JPEG

        listing = await dataset.training_data(services, actor_id)
        assert listing["character_id"] == actor_id
        [entry] = listing["training_data"]
        # The seed's manifest entry, field by field.
        for field in SEED_ENTRY_FIELDS:
            assert field in entry, field
        assert entry["filename"] == f"{NAME}_1.jpg"
        assert entry["s3_url"].split("?")[0].endswith(f"/files/{key_of(1)}")
        assert entry["md5_hash"] == hashlib.md5(stored, usedforsecurity=False).hexdigest()
        assert entry["size_bytes"] == len(stored)
        assert entry["size_mb"] == round(len(stored) / (1024 * 1024), 2)
        assert isinstance(entry["modified_timestamp"], float)
        assert entry["modified_date"].startswith(entry["modified_date"][:10])
        assert "T" in entry["modified_date"] and "+" not in entry["modified_date"]
        assert entry["status"] == "synced"
        assert entry["prompt"] == "A person in a dramatic scene"
        assert listing["statistics"] == {
            "training_images_count": 1,
            "training_synced_count": 1,
            "training_rejected_count": 0,
        }
        assert listing["training_data_updated"]
        with services.sessions() as session:
            asset = session.scalars(select(Asset).where(Asset.storage_key == image.key)).one()
            assert asset.provider == "offline"
            assert asset.parent_asset_id is not None
            assert asset.prompt == "A person in a dramatic scene"


async def test_actor_without_base_image_is_refused_naming_base_image(
    local_settings: Settings,
) -> None:
    async with training_services(local_settings) as services:
        actor_id = add_actor(services)
        with pytest.raises(ValidationError) as caught:
            await generate_training_image(services, TrainingRequest(actor_id, "a prompt"))
        assert caught.value.field == "base_image"
        with pytest.raises(NotFound):
            await generate_training_image(services, TrainingRequest(actor_id + 99, "a prompt"))


async def test_a_taken_key_in_the_store_is_skipped_never_overwritten(
    local_settings: Settings,
) -> None:
    async with training_services(local_settings) as services:
        actor_id = await actor_with_base(services)
        await services.store.put(key_of(1), b"someone else's file", content_type="image/jpeg")
        image = await generate_training_image(services, TrainingRequest(actor_id, "a prompt"))
        assert image.n == 2
        assert await services.store.get(key_of(1)) == b"someone else's file"


async def test_fifty_concurrent_generations_give_fifty_distinct_entries(
    database_url: str, local_settings: Settings
) -> None:
    settings = local_settings.model_copy(update={"database_url": database_url})
    async with training_services(settings) as services:
        actor_id = await actor_with_base(services)
        images = await asyncio.gather(
            *(
                generate_training_image(services, TrainingRequest(actor_id, f"prompt {i}"))
                for i in range(50)
            )
        )
        assert sorted(image.n for image in images) == list(range(1, 51))
        assert len({image.key for image in images}) == 50
        with services.sessions() as session:
            count = session.scalar(
                select(func.count()).where(TrainingDataItem.actor_id == actor_id)
            )
            assert count == 50
        listing = await dataset.training_data(services, actor_id)
        assert len(listing["training_data"]) == 50
        keys = {
            meta.key async for meta in services.store.list(f"system_actors/training_data/{NAME}")
        }
        assert keys == {key_of(n) for n in range(1, 51)}


async def test_reject_restore_and_the_zip_export(local_settings: Settings) -> None:
    async with training_services(local_settings) as services:
        actor_id = await actor_with_base(services)
        first = await generate_training_image(services, TrainingRequest(actor_id, "smiling"))
        second = await generate_training_image(services, TrainingRequest(actor_id, "laughing"))

        rejected = await dataset.reject_item(services, actor_id, second.item_id)
        assert rejected["status"] == "rejected"
        assert await services.store.exists(second.key)  # recoverable: the object stays
        listing = await dataset.training_data(services, actor_id)
        assert listing["statistics"]["training_images_count"] == 1
        assert listing["statistics"]["training_rejected_count"] == 1

        name, chunks = await dataset.export_zip(services, actor_id)
        assert name == f"{NAME}_training_data.zip"
        archive = zipfile.ZipFile(io.BytesIO(b"".join([c async for c in chunks])))
        assert sorted(archive.namelist()) == [first.filename, f"{NAME}_1.txt"]
        assert archive.read(first.filename) == await services.store.get(first.key)
        assert archive.read(f"{NAME}_1.txt").decode().strip() == "zx12man, smiling"

        restored = await dataset.restore_item(services, actor_id, second.item_id)
        assert restored["status"] == "synced"
        _, chunks = await dataset.export_zip(services, actor_id)
        archive = zipfile.ZipFile(io.BytesIO(b"".join([c async for c in chunks])))
        names: list[Any] = sorted(archive.namelist())
        assert names == sorted([first.filename, second.filename, f"{NAME}_1.txt", f"{NAME}_2.txt"])
        assert archive.read(f"{NAME}_2.txt").decode().strip() == "zx12man, laughing"

        with pytest.raises(NotFound):
            await dataset.reject_item(services, actor_id, 987654)
