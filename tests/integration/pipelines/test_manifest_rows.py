"""An actor's manifest from one read of its training rows: what it shows and hides.

Made images, a reservation still in progress, an imported image and a rejected one,
with and without stored checks, on both database backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Asset, ImageCheck, TrainingDataItem, utcnow
from castsmith.imaging.curation import ANALYSIS_VERSION
from castsmith.pipelines import actors as use
from castsmith.pipelines.actors.manifests import actor_manifest
from castsmith.pipelines.training.curation import item_checks
from tests.harness import operator_container

IMPORTED_URL = "https://bucket.s3.us-west-1.amazonaws.com/a/imported_3.jpg"


@pytest.fixture
def container(database_url: str, local_settings: Settings) -> Iterator[Container]:
    built = operator_container(local_settings.model_copy(update={"database_url": database_url}))
    yield built
    built.close()


def add_image(
    container: Container,
    actor_id: int,
    n: int,
    *,
    status: str = "synced",
    meta: dict[str, object] | None = None,
    checked: bool = False,
    age_days: int = 0,
) -> None:
    key = f"system_actors/training_data/a{actor_id}/a{actor_id}_{n}.jpg"
    with container.sessions.begin() as session:
        asset = Asset(
            storage_key=key,
            content_type="image/jpeg",
            size_bytes=2 * 1024 * 1024,
            md5="5" * 32,
            sha256=f"{n:064x}",
            width=1024,
            height=1024,
            meta=meta or {},
        )
        session.add(asset)
        session.flush()
        session.add(
            TrainingDataItem(
                actor_id=actor_id,
                n=n,
                filename=key.rsplit("/")[-1],
                asset_id=asset.id,
                status=status,
                updated_at=utcnow() - timedelta(days=age_days),
            )
        )
        if checked:
            session.add(
                ImageCheck(
                    asset_id=asset.id,
                    sha256=asset.sha256,
                    version=ANALYSIS_VERSION,
                    face_count=1,
                    faces=[{"box": [10, 20, 300, 400], "score": 0.9}],
                    width=1024,
                    height=1024,
                    sharpness=250.0,
                    exposure_mean=0.5,
                    exposure_clipped=0.0,
                    phash="0f" * 8,
                )
            )


async def test_the_manifest_shows_stored_and_imported_images_with_their_checks(
    container: Container,
) -> None:
    actor = await use.create_actor(container, {"name": "rows_actor", "description": "x"})
    actor_id = actor["id"]
    add_image(container, actor_id, 1, checked=True, age_days=3)
    add_image(container, actor_id, 2, status="pending")  # a generation in progress
    add_image(
        container,
        actor_id,
        3,
        status="pending",
        meta={"s3_url": IMPORTED_URL, "modified_date": "2024-05-01T10:00:00", "size_mb": 2},
        age_days=5,
    )
    add_image(container, actor_id, 4, status="rejected", age_days=1)

    manifest = await actor_manifest(container, actor_id)

    entries = {entry["filename"]: entry for entry in manifest["training_data"]}
    # The reservation has no entry yet; the imported image shows as it arrived.
    assert list(entries) == ["a1_1.jpg", "a1_3.jpg", "a1_4.jpg"]
    made = entries["a1_1.jpg"]
    assert made["s3_url"].startswith(
        f"{container.settings.public_base_url}/files/"
        "system_actors/training_data/a1/a1_1.jpg?expires="
    )
    assert made["size_mb"] == 2.0 and made["status"] == "synced"
    assert list(made) == [
        "filename",
        "s3_url",
        "md5_hash",
        "size_bytes",
        "size_mb",
        "modified_timestamp",
        "modified_date",
        "status",
        "checks",
    ]
    imported = entries["a1_3.jpg"]
    assert imported["s3_url"] == IMPORTED_URL
    assert imported["modified_date"] == "2024-05-01T10:00:00"
    assert imported["status"] == "pending"
    # Checks: measured for the stored image, none yet for the others; none at all for
    # the imported reservation, which the curation rules do not see.
    assert made["checks"]["faces"] == 1
    assert made["checks"]["face_boxes"] == [[10, 20, 300, 400]]
    assert made["checks"]["verdict"] != "pending"
    assert entries["a1_4.jpg"]["checks"]["verdict"] == "pending"
    assert imported["checks"] is None
    by_id = await item_checks(container, actor_id)
    assert sorted(c["verdict"] for c in by_id.values()) == sorted(
        [made["checks"]["verdict"], "pending"]
    )
    assert manifest["statistics"] == {"training_images_count": 2, "training_synced_count": 1}
    # The latest change of any row, the reservation's included.
    assert manifest["training_data_updated"] > made["modified_date"]
    assert manifest["character_id"] == "rows_actor"
    assert manifest["lora_model_url"] is None and manifest["poster_frame_url"] is None
