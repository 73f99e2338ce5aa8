"""Trainings on the fake Replicate and fal servers with PostgreSQL and the S3 server."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Actor
from castsmith.domain.errors import ValidationError
from castsmith.pipelines import lora
from tests.fakes.trainers import FakeFal, FakeReplicateTrainings
from tests.harness import wait_job
from tests.integration.jobs.helpers import until
from tests.integration.lora.support import NAME, actor_with_dataset, read_lora
from tests.integration.pipelines.test_training_support import training_services


@pytest.fixture
def replicate() -> Iterator[FakeReplicateTrainings]:
    with FakeReplicateTrainings(polls=3) as fake:
        assert isinstance(fake, FakeReplicateTrainings)
        yield fake


@pytest.fixture
def fal() -> Iterator[FakeFal]:
    with FakeFal(polls=3) as fake:
        assert isinstance(fake, FakeFal)
        yield fake


def trainer_settings(
    base: Settings, replicate: FakeReplicateTrainings, fal: FakeFal, **more: Any
) -> Settings:
    """``base`` with both fake trainers configured and quick polling."""
    return base.model_copy(
        update={
            "replicate_api_token": SecretStr(replicate.token),
            "replicate_base_url": replicate.url,
            "fal_api_key": SecretStr(fal.key),
            "fal_queue_url": fal.url,
            "fal_rest_url": fal.url,
            "lora_poll_interval": 0.05,
            "image_provider": "offline",
            **more,
        }
    )


@pytest.fixture
async def services(
    pg_database_url: str, s3_settings: Settings, replicate: FakeReplicateTrainings, fal: FakeFal
) -> AsyncIterator[Container]:
    settings = trainer_settings(s3_settings, replicate, fal, database_url=pg_database_url)
    async with training_services(settings, worker=True) as container:
        yield container


def zip_names(data: bytes) -> list[str]:
    return sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())


async def test_replicate_training_end_to_end(
    services: Container, replicate: FakeReplicateTrainings
) -> None:
    actor_id = await actor_with_dataset(services)
    view, job = await lora.start_training(
        services, actor_id, lora.TrainRequest(provider="replicate", steps=500, rank=8)
    )
    done = await wait_job(services, job.id, 60)
    assert done.status == "completed", done.error

    # One training, on the pinned trainer version, into a destination created for it.
    creates = replicate.calls_to("/v1/models/ostris/flux-dev-lora-trainer/versions/", "POST")
    assert len(creates) == 1
    body = creates[0].json()
    assert body["destination"] == "acme/flux-0012-european-30-male"
    assert replicate.calls_to("/v1/models", "POST")[0].json()["visibility"] == "private"
    assert body["input"]["trigger_word"] == "zx12man" and body["input"]["lora_rank"] == 8
    # On S3 the dataset is a presigned link to castsmith's own zip (no Files API upload).
    assert "X-Amz-Signature" in body["input"]["input_images"]
    assert not replicate.calls_to("/v1/files")
    names = zip_names(replicate.datasets[0])
    images = [n for n in names if n.endswith(".jpg")]
    assert images and len(names) == 2 * len(images)

    trained = await lora.training(services, view["id"])
    assert trained["status"] == "succeeded" and trained["is_current"]
    assert trained["remote_id"] in replicate.trainings
    assert trained["usage"]["predict_time"] == 12.5
    assert any("step 500/500" in line for line in trained["logs"])
    assert trained["duration_seconds"] is not None
    _, tensors = await read_lora(services, trained["weights_key"])
    assert any("lora_A" in t for t in tensors)
    assert trained["weights_size"] == len(replicate.weights)
    with services.sessions() as session:
        actor = session.get(Actor, actor_id)
        assert actor is not None and actor.lora_name == f"{NAME}_v1.safetensors"
        assert actor.lora_model_url and actor.lora_model_url.endswith(trained["weights_key"])
    grid = await wait_job(services, trained["grid_job_id"], 60)
    assert grid.status == "completed", grid.error


async def test_a_rate_limited_poll_waits_and_the_training_is_not_submitted_again(
    services: Container, replicate: FakeReplicateTrainings
) -> None:
    actor_id = await actor_with_dataset(services)
    replicate.script(
        "/v1/trainings/",
        method="GET",
        status=429,
        json={"detail": "Request was throttled. Your rate limit resets in ~1s."},
        headers={"Retry-After": "1"},
        times=2,
    )
    _, job = await lora.start_training(services, actor_id, lora.TrainRequest(provider="replicate"))
    done = await wait_job(services, job.id, 60)
    assert done.status == "completed", done.error
    assert len(replicate.trainings) == 1


async def test_a_failed_replicate_training_fails_the_job_and_keeps_the_old_lora(
    services: Container, replicate: FakeReplicateTrainings
) -> None:
    actor_id = await actor_with_dataset(services)
    replicate.fail_next("input_images must be a zip file")
    view, job = await lora.start_training(
        services, actor_id, lora.TrainRequest(provider="replicate")
    )
    done = await wait_job(services, job.id, 60)
    assert done.status == "failed"
    assert "input_images must be a zip file" in (done.error or "")
    failed = await lora.training(services, view["id"])
    assert failed["status"] == "failed" and failed["weights_key"] is None
    assert not failed["is_current"]
    with services.sessions() as session:
        actor = session.get(Actor, actor_id)
        assert actor is not None and actor.lora_name is None


async def test_cancelling_the_job_cancels_the_remote_training(
    services: Container, replicate: FakeReplicateTrainings
) -> None:
    replicate.polls = 10_000
    actor_id = await actor_with_dataset(services)
    view, job = await lora.start_training(
        services, actor_id, lora.TrainRequest(provider="replicate")
    )

    async def polling() -> bool:
        row = await lora.training(services, view["id"])
        return bool(row["remote_id"]) and len(replicate.calls_to("/v1/trainings/", "GET")) > 1

    await until(polling, 30)
    cancelled = await lora.cancel(services, view["id"])
    assert cancelled["status"] == "canceled"
    remote_id = cancelled["remote_id"]
    assert remote_id in replicate.cancelled
    assert replicate.trainings[remote_id]["status"] == "canceled"
    done = await wait_job(services, job.id, 30)
    assert done.status == "cancelled"


async def test_fal_fast_training_sends_trigger_word_and_keeps_the_file(
    services: Container, fal: FakeFal
) -> None:
    actor_id = await actor_with_dataset(services)
    view, job = await lora.start_training(services, actor_id, lora.TrainRequest(provider="fal"))
    done = await wait_job(services, job.id, 60)
    assert done.status == "completed", done.error
    submitted = fal.calls_to("/fal-ai/flux-lora-fast-training", "POST")
    assert len(submitted) == 1
    body = submitted[0].json()
    assert body["trigger_word"] == "zx12man" and "trigger_phrase" not in body
    assert submitted[0].headers["authorization"] == f"Key {fal.key}"
    assert zip_names(fal.datasets[0])
    trained = await lora.training(services, view["id"])
    assert trained["status"] == "succeeded" and trained["provider"] == "fal"
    assert (await services.store.get(trained["weights_key"])) == fal.weights


async def test_fal_portrait_trainer_takes_trigger_phrase_and_needs_ten_images(
    services: Container, fal: FakeFal
) -> None:
    actor_id = await actor_with_dataset(services)
    _, job = await lora.start_training(
        services, actor_id, lora.TrainRequest(provider="fal-portrait", learning_rate=2e-4)
    )
    done = await wait_job(services, job.id, 60)
    assert done.status == "completed", done.error
    body = fal.calls_to("/fal-ai/flux-lora-portrait-trainer", "POST")[0].json()
    assert body["trigger_phrase"] == "zx12man" and "trigger_word" not in body
    assert body["learning_rate"] == 2e-4


async def test_bad_requests_are_refused_before_anything_is_written(
    services: Container, fal: FakeFal
) -> None:
    actor_id = await actor_with_dataset(services)
    with services.sessions.begin() as session:
        actor = session.get(Actor, actor_id)
        assert actor is not None
        actor.lora_trigger_word = None
    with pytest.raises(ValidationError) as no_trigger:
        await lora.start_training(services, actor_id, lora.TrainRequest(provider="fal"))
    assert no_trigger.value.field == "trigger_word"
    with pytest.raises(ValidationError) as unknown:
        await lora.start_training(services, actor_id, lora.TrainRequest(provider="dreambooth"))
    assert unknown.value.field == "provider" and "unknown trainer" in str(unknown.value)
    with pytest.raises(ValidationError) as steps:
        await lora.start_training(
            services, actor_id, lora.TrainRequest(trigger_word="zx12", steps=0)
        )
    assert steps.value.field == "steps"
    assert await lora.versions(services, actor_id) == []
    assert not fal.calls
