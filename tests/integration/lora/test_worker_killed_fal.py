"""A worker killed (SIGKILL) while it polls a fal training: the next worker polls the same
fal request to its end, and fal sees one submission, not two (the Replicate case is in
``test_worker_killed.py``)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest

from castsmith.config import Settings
from castsmith.pipelines import lora
from tests.conftest import S3_TEST_KEY, S3_TEST_REGION, S3_TEST_SECRET
from tests.fakes.trainers import FakeFal
from tests.harness import running_app, wait_job
from tests.integration.faults.processes import log_tail, start_worker
from tests.integration.jobs.helpers import stop_processes, until
from tests.integration.lora.support import actor_with_dataset

pytestmark = pytest.mark.slow

SUBMIT = "/fal-ai/flux-lora-fast-training"


def fal_worker_env(settings: Settings, fal: FakeFal) -> dict[str, str]:
    """A worker process's environment: the S3 server, the fake fal, quick polling."""
    return {
        "CASTSMITH_STORAGE_BACKEND": "s3",
        "CASTSMITH_S3_BUCKET": settings.s3_bucket,
        "CASTSMITH_S3_ENDPOINT": settings.s3_endpoint,
        "CASTSMITH_S3_REGION": S3_TEST_REGION,
        "CASTSMITH_S3_ACCESS_KEY": S3_TEST_KEY,
        "CASTSMITH_S3_SECRET_KEY": S3_TEST_SECRET,
        "CASTSMITH_S3_ADDRESSING": "path",
        "CASTSMITH_S3_ALLOW_HTTP": "true",
        "CASTSMITH_FAL_API_KEY": fal.key,
        "CASTSMITH_FAL_QUEUE_URL": fal.url,
        "CASTSMITH_FAL_REST_URL": fal.url,
        "CASTSMITH_IMAGE_PROVIDER": "offline",
        "CASTSMITH_POSTER_PROVIDER": "offline",
        "CASTSMITH_LORA_POLL_INTERVAL": "0.1",
        "CASTSMITH_JOB_LEASE_SECONDS": "2",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


async def test_a_killed_worker_resumes_the_same_fal_request(
    pg_database_url: str, s3_settings: Settings, tmp_path: Path
) -> None:
    settings = s3_settings.model_copy(
        update={"database_url": pg_database_url, "image_provider": "offline"}
    )
    with FakeFal(polls=60) as fal:
        assert isinstance(fal, FakeFal)
        settings = settings.model_copy(
            update={"fal_api_key": fal.key, "fal_queue_url": fal.url, "fal_rest_url": fal.url}
        )
        async with running_app(settings) as env:
            actor_id = await actor_with_dataset(env.container)
        async with running_app(settings, worker=False) as env:
            view, job = await lora.start_training(
                env.container, actor_id, lora.TrainRequest(provider="fal")
            )
            environ = fal_worker_env(settings, fal)
            processes: list[subprocess.Popen[bytes]] = []
            try:
                first = start_worker(pg_database_url, tmp_path, "first", 1, environ)
                processes.append(first)

                async def polled() -> bool:
                    row = await lora.training(env.container, view["id"])
                    return bool(row["remote_id"]) and len(fal.calls_to("/fal-ai/", "GET")) >= 3

                try:
                    await until(polled, 60)
                except AssertionError:
                    raise AssertionError(log_tail(tmp_path, "first")) from None
                first.send_signal(signal.SIGKILL)
                await asyncio.to_thread(first.wait)
                running = await lora.training(env.container, view["id"])
                assert running["status"] == "running"
                remote_id = running["remote_id"]

                second = start_worker(pg_database_url, tmp_path, "second", 1, environ)
                processes.append(second)
                try:
                    done = await wait_job(env.container, job.id, 90)
                except AssertionError:
                    raise AssertionError(log_tail(tmp_path, "second")) from None
            finally:
                stop_processes(processes)
            assert done.status == "completed", done.error
            finished = await lora.training(env.container, view["id"])
    assert finished["status"] == "succeeded" and finished["remote_id"] == remote_id
    assert len(fal.calls_to(SUBMIT, "POST")) == 1
    assert list(fal.trainings) == [remote_id]
    assert not fal.cancelled
