"""LoRA trainings in the cost ledger, on the fake Replicate and fal trainers, on SQLite
and PostgreSQL: a finished training is charged by the time the trainer reported (or
per training), a cancelled one shows as cancelled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.pipelines import costs, lora
from tests.fakes.trainers import FakeFal, FakeReplicateTrainings
from tests.harness import wait_job
from tests.integration.jobs.helpers import until
from tests.integration.lora.support import actor_with_dataset
from tests.integration.lora.test_remote_trainers import trainer_settings
from tests.integration.pipelines.test_training_support import training_services

pytestmark = pytest.mark.slow


@pytest.fixture
async def services(
    database_url: str, s3_settings: Settings, replicate: FakeReplicateTrainings, fal: FakeFal
) -> AsyncIterator[Container]:
    settings = trainer_settings(s3_settings, replicate, fal, database_url=database_url)
    async with training_services(settings, worker=True) as container:
        yield container


@pytest.fixture
def replicate() -> Iterator[FakeReplicateTrainings]:
    with FakeReplicateTrainings(polls=3) as fake:
        yield fake


@pytest.fixture
def fal() -> Iterator[FakeFal]:
    with FakeFal(polls=3) as fake:
        yield fake


async def by_job(services: Container, job_id: int) -> dict[str, object]:
    report = await costs.cost_report(services, "job", None, [job_id])
    (row,) = report["rows"]
    assert isinstance(row, dict)
    return row


async def test_trainings_are_charged_by_what_the_trainer_reported(services: Container) -> None:
    actor_id = await actor_with_dataset(services)
    _, on_replicate = await lora.start_training(
        services, actor_id, lora.TrainRequest(provider="replicate")
    )
    assert (await wait_job(services, on_replicate.id, 60)).status == "completed"
    _, on_fal = await lora.start_training(services, actor_id, lora.TrainRequest(provider="fal"))
    assert (await wait_job(services, on_fal.id, 60)).status == "completed"

    replicate_row = await by_job(services, on_replicate.id)
    # Replicate's predict_time (12.5 s) at the H100 price per second.
    assert replicate_row["succeeded"] == 1 and replicate_row["seconds"] == 12.5
    assert replicate_row["cost"] == pytest.approx(12.5 * 0.001525, abs=1e-6)
    fal_row = await by_job(services, on_fal.id)
    # fal bills the training, not the time.
    assert fal_row["succeeded"] == 1 and fal_row["cost"] == pytest.approx(2.0)
    providers = {r["key"] for r in (await costs.cost_report(services))["rows"]}
    assert {"replicate", "fal"} <= providers


async def test_a_cancelled_training_is_recorded_cancelled(
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
    await lora.cancel(services, view["id"])
    assert (await wait_job(services, job.id, 30)).status == "cancelled"

    async def recorded() -> bool:
        return bool((await costs.cost_report(services, "job", None, [job.id]))["rows"])

    await until(recorded, 10)
    row = await by_job(services, job.id)
    assert (row["calls"], row["cancelled"], row["succeeded"]) == (1, 1, 0)
