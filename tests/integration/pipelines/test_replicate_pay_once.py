"""Replicate predictions are paid for once and cancelled with their job, on SQLite and
PostgreSQL: references (four predictions in one call) and a training image.

The fake Replicate counts the predictions created and the cancels it receives.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from castsmith.config import Settings
from castsmith.db.models_costs import ProviderCall
from castsmith.jobs.types import JobSpec
from castsmith.pipelines import references
from castsmith.pipelines.training import KIND_ONE
from tests.fakes import FakeReplicate
from tests.harness import AppEnv, running_app, wait_job
from tests.integration.faults.processes import log_tail
from tests.integration.faults.processes import start_worker as start_worker_process
from tests.integration.jobs.helpers import stop_processes, until
from tests.integration.pipelines.test_posters_stopped import start_worker
from tests.integration.pipelines.test_training_support import actor_with_base

pytestmark = pytest.mark.slow

CREATE = "/v1/models/black-forest-labs/flux-kontext-pro/predictions"


def on_replicate(base: Settings, fake: FakeReplicate, database_url: str) -> Settings:
    return base.model_copy(
        update={
            "database_url": database_url,
            "replicate_api_token": SecretStr(fake.token),
            "replicate_base_url": fake.url,
            "reference_provider": "replicate",
            "image_provider": "replicate",
        }
    )


def created(fake: FakeReplicate) -> int:
    return len(fake.calls_to(CREATE, "POST"))


def cancels(fake: FakeReplicate) -> list[str]:
    return [
        c.path.split("/")[3]
        for c in fake.calls_to("/v1/predictions/", "POST")
        if c.path.endswith("/cancel")
    ]


def slow(fake: FakeReplicate) -> FakeReplicate:
    """Predictions that run until a test lets them finish."""
    fake.sync_finishes = False
    fake.polls_before_done = 10_000
    return fake


def finish_all(fake: FakeReplicate) -> None:
    fake.polls_before_done = 0
    for prediction in fake.predictions.values():
        prediction["_polls"] = 0


async def enqueue_references(env: AppEnv, count: int = 4) -> int:
    request = references.ReferenceRequest("a tall woman in a red coat", num_images=count)
    spec = JobSpec(kind=references.KIND_GENERATE, payload=request.payload())
    (job,) = await asyncio.to_thread(env.queue.enqueue_many, [spec])
    return job.id


def ledger(env: AppEnv, job_id: int) -> list[ProviderCall]:
    with env.container.sessions() as session:
        query = select(ProviderCall).where(ProviderCall.job_id == job_id)
        return list(session.scalars(query.order_by(ProviderCall.id)))


async def test_references_resume_their_predictions_after_a_worker_stops(
    database_url: str, tmp_path: Path
) -> None:
    with FakeReplicate() as fake:
        slow(fake)
        settings = on_replicate(Settings(data_dir=tmp_path), fake, database_url)
        async with running_app(settings, worker=False) as env:
            job_id = await enqueue_references(env)
            first, task = start_worker(env, shutdown_grace=0.2)
            # The first prediction was created and is being polled: stop the worker.
            await until(lambda: len(fake.calls_to("/v1/predictions/", "GET")) >= 1, 30)
            first.stop()
            await asyncio.wait_for(task, 30)
            assert created(fake) == 1
            assert cancels(fake) == []

            finish_all(fake)
            second, task = start_worker(env)
            try:
                done = await wait_job(env.container, job_id, 60)
            finally:
                second.stop()
                await asyncio.wait_for(task, 30)
            rows = ledger(env, job_id)
    assert done.status == "completed", done.error
    assert len(done.result["images"]) == 4
    # Four images, four predictions: the first one was followed, not made again.
    assert created(fake) == 4
    assert cancels(fake) == []
    assert all(p["status"] == "succeeded" for p in fake.predictions.values())
    # One ledger line for the call, recorded when it ended, with Replicate's own usage.
    (row,) = rows
    assert (row.provider, row.kind, row.status, row.images) == (
        "replicate",
        "text_to_image",
        "succeeded",
        4,
    )
    assert row.usage["predict_time"] == pytest.approx(4 * 1.2)
    assert row.cost == pytest.approx(4 * 0.04)


@pytest.mark.parametrize(
    "answer_delay",
    [
        pytest.param(0.0, id="polling"),
        # Replicate answers the create slowly: the cancel arrives once the prediction
        # exists (and costs money) but before castsmith knows its id.
        pytest.param(1.0, id="while-created"),
    ],
)
async def test_cancelling_a_reference_job_cancels_its_prediction(
    database_url: str, tmp_path: Path, answer_delay: float
) -> None:
    with FakeReplicate() as fake:
        slow(fake)
        fake.create_answer_delay = answer_delay
        settings = on_replicate(Settings(data_dir=tmp_path), fake, database_url)
        async with running_app(settings) as env:
            job_id = await enqueue_references(env, count=2)
            await until(lambda: len(fake.predictions) == 1, 30)
            (pid,) = list(fake.predictions)
            answer = await env.client.post(f"/api/jobs/{job_id}/cancel")
            assert answer.status_code == 200, answer.text
            done = await wait_job(env.container, job_id, 30)
            await until(lambda: fake.predictions[pid]["status"] == "canceled", 10)
            await until(lambda: len(ledger(env, job_id)) == 1, 10)
            rows = ledger(env, job_id)
    assert done.status == "cancelled"
    assert cancels(fake) == [pid]
    assert created(fake) == 1  # the second image was never asked for
    (row,) = rows
    assert (row.status, row.images, row.cost) == ("cancelled", 0, 0.0)
    assert row.remote_id == pid


async def test_a_killed_worker_s_successor_follows_the_same_prediction(
    database_url: str, tmp_path: Path
) -> None:
    with FakeReplicate() as fake:
        slow(fake)
        settings = on_replicate(Settings(data_dir=tmp_path), fake, database_url)
        async with running_app(settings, worker=False) as env:
            job_id = await enqueue_references(env, count=1)
            environ = {
                "CASTSMITH_DATA_DIR": str(tmp_path),
                "CASTSMITH_REPLICATE_API_TOKEN": fake.token,
                "CASTSMITH_REPLICATE_BASE_URL": fake.url,
                "CASTSMITH_REFERENCE_PROVIDER": "replicate",
                "CASTSMITH_JOB_LEASE_SECONDS": "2",
            }
            processes: list[subprocess.Popen[bytes]] = []
            try:
                first = start_worker_process(database_url, tmp_path, "first", 1, environ)
                processes.append(first)
                try:
                    await until(lambda: len(fake.calls_to("/v1/predictions/", "GET")) >= 2, 60)
                except AssertionError:
                    raise AssertionError(log_tail(tmp_path, "first")) from None
                first.send_signal(signal.SIGKILL)
                await asyncio.to_thread(first.wait)
                (pid,) = list(fake.predictions)
                finish_all(fake)
                second = start_worker_process(database_url, tmp_path, "second", 1, environ)
                processes.append(second)
                try:
                    done = await wait_job(env.container, job_id, 90)
                except AssertionError:
                    raise AssertionError(log_tail(tmp_path, "second")) from None
            finally:
                stop_processes(processes)
            rows = ledger(env, job_id)
    assert done.status == "completed", done.error
    # One prediction, created once, followed by the second worker to its end.
    assert created(fake) == 1 and list(fake.predictions) == [pid]
    assert fake.predictions[pid]["status"] == "succeeded"
    assert cancels(fake) == []
    assert [(r.status, r.remote_id) for r in rows] == [("succeeded", pid)]


async def test_a_training_image_and_a_persona_follow_their_predictions_after_a_stop(
    database_url: str, tmp_path: Path
) -> None:
    with FakeReplicate() as fake:
        slow(fake)
        settings = on_replicate(Settings(data_dir=tmp_path), fake, database_url)
        async with running_app(settings, worker=False) as env:
            actor_id = await actor_with_base(env.container)
            spec = JobSpec(kind=KIND_ONE, payload={"actor_id": actor_id, "prompt": "in the rain"})
            (image_job,) = await asyncio.to_thread(env.queue.enqueue_many, [spec])
            task = (await env.client.post("/api/persona-tasks", json={"count": 1})).json()
            first, running = start_worker(env, shutdown_grace=0.2)
            # The training image's prediction and the persona's base selfie's are running.
            await until(lambda: created(fake) == 2, 60)
            await until(lambda: len(fake.calls_to("/v1/predictions/", "GET")) >= 2, 30)
            first.stop()
            await asyncio.wait_for(running, 30)

            finish_all(fake)
            second, running = start_worker(env)
            try:
                image_done = await wait_job(env.container, image_job.id, 60)
                task_done = await wait_job(env.container, int(task["job_id"]), 90)
            finally:
                second.stop()
                await asyncio.wait_for(running, 30)
            calls = ledger(env, image_job.id)
    assert image_done.status == "completed", image_done.error
    assert task_done.status == "completed", task_done.error
    # Three predictions in all: the training image, the persona's base and its grid.
    # The two running when the worker stopped were followed, not made again.
    assert created(fake) == 3
    assert cancels(fake) == []
    assert [(c.provider, c.kind, c.status) for c in calls] == [
        ("replicate", "image_to_image", "succeeded")
    ]
