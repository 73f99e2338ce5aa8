"""Training data on the fake Replicate server (flux-kontext-pro), PostgreSQL and S3."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Asset, Job, TrainingDataItem
from castsmith.domain.training_prompts import builtin_library
from castsmith.pipelines.training import GenerateOptions, dataset, enqueue_generate_all
from tests.fakes import FakeReplicate
from tests.harness import wait_job
from tests.integration.pipelines.test_training_support import (
    SEED_ENTRY_FIELDS,
    actor_with_base,
    on_replicate,
    training_services,
)

NAME = "0012_european_30_male"
FEMALE = "0007_asian_25_female"
MALE_PROMPTS = len(builtin_library().for_actor("person", "male"))


@pytest.fixture
async def services(
    pg_database_url: str, s3_settings: Settings, replicate: FakeReplicate
) -> AsyncIterator[Container]:
    settings = on_replicate(s3_settings, replicate, database_url=pg_database_url)
    async with training_services(settings, worker=True, concurrency=8) as container:
        yield container


async def training_keys(services: Container) -> set[str]:
    return {meta.key async for meta in services.store.list("system_actors/training_data")}


async def test_generate_all_on_replicate_with_failures_then_resume(
    services: Container, replicate: FakeReplicate
) -> None:
    actor_id = await actor_with_base(services)
    for _ in range(3):
        replicate.fail_next("The input or output was flagged as sensitive. (E005)")

    job = await enqueue_generate_all(services, actor_id, GenerateOptions())
    done = await wait_job(services, job.id)
    assert done.status == "completed_with_errors"
    assert done.result["created"] == MALE_PROMPTS - 3
    assert done.result["failed"] == 3
    assert len(done.error_log) == 3
    assert all("sensitive" in entry["error"] for entry in done.error_log)

    # Every image went through flux-kontext-pro with the base image as input.
    assert len(replicate.calls_to("/v1/models/black-forest-labs/flux-kontext-pro/predictions"))
    assert all(str(i["input_image"]).startswith(("data:", "http")) for i in replicate.inputs)
    with services.sessions() as session:
        providers = set(
            session.scalars(select(Job.provider).where(Job.kind == "training.generate_one"))
        )
        assert providers == {"replicate"}
        # Failed images left no entry, no reservation and no object.
        items = session.scalar(select(func.count()).select_from(TrainingDataItem))
        assert items == MALE_PROMPTS - 3
        training_assets = session.scalar(select(func.count()).where(Asset.kind == "training_image"))
        assert training_assets == MALE_PROMPTS - 3
    assert len(await training_keys(services)) == MALE_PROMPTS - 3

    listing = await dataset.training_data(services, actor_id)
    entry = listing["training_data"][0]
    assert set(SEED_ENTRY_FIELDS) <= set(entry)
    assert entry["provider"] == "replicate"
    assert entry["s3_url"].split("?")[0].endswith(entry["filename"])
    assert listing["statistics"]["training_synced_count"] == MALE_PROMPTS - 3

    # The second run makes only the three missing images.
    job = await enqueue_generate_all(services, actor_id, GenerateOptions())
    again = await wait_job(services, job.id)
    assert again.status == "completed"
    assert again.result["created"] == 3
    assert again.result["skipped"] == MALE_PROMPTS - 3
    keys = await training_keys(services)
    assert len(keys) == MALE_PROMPTS
    assert all(key.startswith(f"system_actors/training_data/{NAME}/{NAME}_") for key in keys)


async def test_all_failing_fails_the_parent(services: Container, replicate: FakeReplicate) -> None:
    actor_id = await actor_with_base(services, FEMALE)
    female = len(builtin_library().for_actor("person", "female"))
    for _ in range(female):
        replicate.fail_next("NSFW content detected")
    job = await enqueue_generate_all(
        services, actor_id, GenerateOptions(actor_type="person", actor_sex="female")
    )
    done = await wait_job(services, job.id)
    assert done.status == "failed"
    assert await training_keys(services) == set()
    prompt_text = replicate.inputs[0]["prompt"]
    assert "woman" in prompt_text or "this" in prompt_text
    assert base64.b64decode(replicate.inputs[0]["input_image"].split(",", 1)[1])[:2] == b"\xff\xd8"
