"""Remote trainings that go wrong, on the fake Replicate and fal servers with PostgreSQL
and the S3 server: a lost answer to the create call (found again, not paid twice), a
weights tar without exactly one ``.safetensors``, a fal training cancelled, a worker
stopped while it polls fal, and too few images for fal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from castsmith.config import Settings
from castsmith.db.models import Actor
from castsmith.domain.jobs import RetryPolicy
from castsmith.pipelines import lora
from tests.fakes.trainers import FakeFal, FakeReplicateTrainings
from tests.harness import AppEnv, running_app, wait_job
from tests.integration.jobs.helpers import until
from tests.integration.lora.support import actor_with_dataset
from tests.integration.lora.test_remote_trainers import trainer_settings

CREATE = "/v1/models/ostris/flux-dev-lora-trainer/versions/"
QUICK = RetryPolicy(0.1, 0.5)


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


@pytest.fixture
def settings(
    pg_database_url: str, s3_settings: Settings, replicate: FakeReplicateTrainings, fal: FakeFal
) -> Settings:
    return trainer_settings(s3_settings, replicate, fal, database_url=pg_database_url)


@pytest.fixture
async def env(settings: Settings) -> AsyncIterator[AppEnv]:
    async with running_app(settings, retry_policy=QUICK, shutdown_grace=2.0) as app:
        yield app


async def test_a_lost_answer_to_the_create_call_is_found_not_paid_twice(
    env: AppEnv, replicate: FakeReplicateTrainings
) -> None:
    actor_id = await actor_with_dataset(env.container)
    replicate.lose_next_create_answer()
    view, job = await lora.start_training(
        env.container, actor_id, lora.TrainRequest(provider="replicate")
    )
    done = await wait_job(env.container, job.id, 60)
    assert done.status == "completed", done.error
    assert done.attempts >= 2  # the lost answer failed the first attempt
    assert len(replicate.calls_to(CREATE, "POST")) == 1
    assert len(replicate.trainings) == 1
    trained = await lora.training(env.container, view["id"])
    assert trained["status"] == "succeeded"
    assert trained["remote_id"] == next(iter(replicate.trainings))
    assert trained["remote"]["found_after_retry"] is True
    assert replicate.calls_to("/v1/trainings", "GET")


@pytest.mark.parametrize("members", [0, 2])
async def test_a_weights_tar_without_exactly_one_safetensors_fails_the_job(
    env: AppEnv, replicate: FakeReplicateTrainings, members: int
) -> None:
    actor_id = await actor_with_dataset(env.container)
    replicate.tar_members = members
    view, job = await lora.start_training(
        env.container, actor_id, lora.TrainRequest(provider="replicate")
    )
    done = await wait_job(env.container, job.id, 60)
    assert done.status == "failed"
    message = f"the trainer's archive holds {members} .safetensors files; exactly one was expected"
    assert message in (done.error or "")
    failed = await lora.training(env.container, view["id"])
    assert failed["status"] == "failed" and message in failed["error"]
    assert failed["weights_key"] is None and not failed["is_current"]
    assert len(replicate.calls_to(CREATE, "POST")) == 1
    with env.container.sessions() as session:
        actor = session.get(Actor, actor_id)
        assert actor is not None and actor.lora_name is None


async def test_cancelling_a_fal_training_cancels_it_at_fal(env: AppEnv, fal: FakeFal) -> None:
    fal.polls = 10_000
    actor_id = await actor_with_dataset(env.container)
    view, job = await lora.start_training(
        env.container, actor_id, lora.TrainRequest(provider="fal")
    )

    async def polling() -> bool:
        row = await lora.training(env.container, view["id"])
        return bool(row["remote_id"]) and len(fal.calls_to("/fal-ai/", "GET")) > 1

    await until(polling, 30)
    answer = await env.client.post(f"/api/lora-trainings/{view['id']}/cancel")
    assert answer.status_code == 200, answer.text
    cancelled = answer.json()
    assert cancelled["status"] == "canceled"
    # The request and the stopping job may both ask; fal's second answer is
    # ALREADY_COMPLETED, which is fine. Only this training is cancelled.
    assert set(fal.cancelled) == {cancelled["remote_id"]}
    assert fal.trainings[cancelled["remote_id"]].get("cancelled") is True
    done = await wait_job(env.container, job.id, 30)
    assert done.status == "cancelled"
    again = await env.client.post(f"/api/lora-trainings/{view['id']}/cancel")
    assert again.status_code == 409


async def test_a_stopped_worker_leaves_the_fal_training_for_the_next_one(
    settings: Settings, fal: FakeFal
) -> None:
    fal.polls = 60
    async with running_app(settings, shutdown_grace=0.5) as first:
        actor_id = await actor_with_dataset(first.container)
        view, job = await lora.start_training(
            first.container, actor_id, lora.TrainRequest(provider="fal")
        )

        async def polled() -> bool:
            row = await lora.training(first.container, view["id"])
            return bool(row["remote_id"]) and len(fal.calls_to("/fal-ai/", "GET")) >= 3

        await until(polled, 60)
    # The first worker is gone (shut down mid-poll); a second one takes the job over.
    async with running_app(settings, retry_policy=QUICK) as second:
        done = await wait_job(second.container, job.id, 90)
        assert done.status == "completed", done.error
        trained = await lora.training(second.container, view["id"])
    assert trained["status"] == "succeeded"
    assert len(fal.calls_to("/fal-ai/flux-lora-fast-training", "POST")) == 1
    assert list(fal.trainings) == [trained["remote_id"]]
    assert not fal.cancelled


async def test_fal_needs_four_images_even_when_forced(env: AppEnv, fal: FakeFal) -> None:
    actor_id = await actor_with_dataset(env.container)
    listing = (await env.client.get(f"/api/actors/{actor_id}/training-data")).json()
    for item in listing["training_data"][3:]:
        answer = await env.client.delete(f"/api/actors/{actor_id}/training-data/{item['id']}")
        assert answer.status_code == 200, answer.text
    path = f"/api/actors/{actor_id}/lora-trainings"
    for body in ({"provider": "fal"}, {"provider": "fal", "force": True}):
        answer = await env.client.post(path, json=body)
        assert answer.status_code == 422, answer.text
        refused = answer.json()
        assert refused["field"] == "dataset"
        assert "the fal trainer needs at least 4" in refused["detail"]
        assert "has 3 usable images" in refused["detail"]
    assert (await env.client.get(path)).json()["versions"] == []
    assert not fal.calls
