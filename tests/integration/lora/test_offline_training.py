"""The embedded default end to end: dataset -> offline training -> version, poster, grid."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Actor, PosterFrameVersion
from castsmith.pipelines import lora
from castsmith.pipelines.training.dataset import reject_item, training_data
from tests.harness import wait_job
from tests.integration.lora.support import NAME, actor_with_dataset, md5s_of, read_lora
from tests.integration.pipelines.test_training_support import training_services


@pytest.fixture
async def services(local_settings: Settings, sqlite_database_url: str) -> AsyncIterator[Container]:
    settings = local_settings.model_copy(
        update={"offline_training_seconds": 0.6, "database_url": sqlite_database_url}
    )
    async with training_services(settings, worker=True) as container:
        yield container


async def test_offline_training_makes_a_current_version_a_poster_and_a_grid(
    services: Container,
) -> None:
    actor_id = await actor_with_dataset(services)
    listing = await training_data(services, actor_id)
    rejected = listing["training_data"][0]
    await reject_item(services, actor_id, rejected["id"])

    view, job = await lora.start_training(services, actor_id, lora.TrainRequest(steps=200))
    # The in-process worker may have claimed the job before the view was read.
    assert view["version"] == 1 and view["provider"] == "offline"
    assert view["status"] in {"queued", "running"}
    done = await wait_job(services, job.id, 60)
    assert done.status == "completed", done.error

    trained = await lora.training(services, view["id"])
    assert trained["status"] == "succeeded" and trained["is_current"]
    assert trained["weights_key"] == f"models/{NAME}/{NAME}_v1.safetensors"
    assert trained["remote_id"].startswith("offline-")
    assert any("step 200/200" in line for line in trained["logs"])
    # The snapshot leaves the rejected image out and keeps md5 and caption of the rest.
    items = trained["dataset"]["items"]
    assert len(items) == len(listing["training_data"]) - 1
    assert rejected["filename"] not in {item["filename"] for item in items}
    assert all(item["caption"].startswith("zx12man") for item in items)

    metadata, tensors = await read_lora(services, trained["weights_key"])
    assert metadata["trigger_word"] == "zx12man" and metadata["steps"] == "200"
    assert metadata["castsmith.placeholder"] == "true"
    assert md5s_of(metadata) == [item["md5"] for item in items]
    assert any(name.endswith("lora_A.weight") for name in tensors)

    with services.sessions() as session:
        actor = session.get(Actor, actor_id)
        assert actor is not None
        assert actor.lora_name == f"{NAME}_v1.safetensors"
        assert actor.lora_trigger_word == "zx12man"

    # The poster is drawn again with the new LoRA, and the grid has every cell.
    poster = await wait_job(services, trained["poster_job_id"], 60)
    assert poster.status == "completed", poster.error
    with services.sessions() as session:
        latest = session.query(PosterFrameVersion).filter_by(actor_id=actor_id).one()
        assert latest.params["character_lora"]["name"] == f"{NAME}_v1.safetensors"
    grid_job = await wait_job(services, trained["grid_job_id"], 60)
    assert grid_job.status == "completed", grid_job.error
    grid = await lora.test_grid(services, view["id"])
    assert [cell["strength"] for cell in grid["cells"][:3]] == [0.6, 0.8, 1.0]
    assert len(grid["cells"]) == 9 and all(cell["url"] for cell in grid["cells"])

    picked = await lora.pick_strength(services, view["id"], 0.6)
    assert picked["strength"] == 0.6
    with services.sessions() as session:
        actor = session.get(Actor, actor_id)
        assert actor is not None and actor.lora_strength_model == 0.6


async def test_a_second_version_never_overwrites_the_first_and_either_can_be_current(
    services: Container,
) -> None:
    actor_id = await actor_with_dataset(services)
    first, job = await lora.start_training(services, actor_id, lora.TrainRequest())
    await wait_job(services, job.id, 60)
    _, job = await lora.start_training(
        services, actor_id, lora.TrainRequest(trigger_word="zx12new")
    )
    await wait_job(services, job.id, 60)
    listed = await lora.versions(services, actor_id)
    assert [v["version"] for v in listed] == [2, 1]
    assert [v["is_current"] for v in listed] == [True, False]
    assert listed[0]["weights_key"] != listed[1]["weights_key"]
    assert await services.store.exists(listed[1]["weights_key"])

    await lora.make_current(services, first["id"])
    with services.sessions() as session:
        actor = session.get(Actor, actor_id)
        assert actor is not None
        assert actor.lora_name == f"{NAME}_v1.safetensors" and actor.lora_trigger_word == "zx12man"
    assert [v["is_current"] for v in await lora.versions(services, actor_id)] == [False, True]
