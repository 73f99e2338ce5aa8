"""A worker killed (SIGKILL) while it polls a Replicate training: the next worker polls
the same remote training to its end, and Replicate sees one training, not two."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest

from castsmith.config import Settings
from castsmith.pipelines import lora
from tests.conftest import S3_TEST_KEY, S3_TEST_REGION, S3_TEST_SECRET
from tests.fakes.trainers import FakeReplicateTrainings
from tests.harness import running_app, wait_job
from tests.integration.faults.processes import log_tail, start_worker
from tests.integration.jobs.helpers import stop_processes, until
from tests.integration.lora.support import actor_with_dataset

pytestmark = pytest.mark.slow


def worker_env(settings: Settings, replicate: FakeReplicateTrainings) -> dict[str, str]:
    return {
        "CASTSMITH_STORAGE_BACKEND": "s3",
        "CASTSMITH_S3_BUCKET": settings.s3_bucket,
        "CASTSMITH_S3_ENDPOINT": settings.s3_endpoint,
        "CASTSMITH_S3_REGION": S3_TEST_REGION,
        "CASTSMITH_S3_ACCESS_KEY": S3_TEST_KEY,
        "CASTSMITH_S3_SECRET_KEY": S3_TEST_SECRET,
        "CASTSMITH_S3_ADDRESSING": "path",
        "CASTSMITH_S3_ALLOW_HTTP": "true",
        "CASTSMITH_REPLICATE_API_TOKEN": replicate.token,
        "CASTSMITH_REPLICATE_BASE_URL": replicate.url,
        "CASTSMITH_IMAGE_PROVIDER": "offline",
        "CASTSMITH_POSTER_PROVIDER": "offline",
        "CASTSMITH_LORA_POLL_INTERVAL": "0.1",
        "CASTSMITH_JOB_LEASE_SECONDS": "2",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


async def test_a_killed_worker_resumes_the_same_remote_training(
    pg_database_url: str, s3_settings: Settings, tmp_path: Path
) -> None:
    settings = s3_settings.model_copy(
        update={"database_url": pg_database_url, "image_provider": "offline"}
    )
    with FakeReplicateTrainings(polls=60) as replicate:
        assert isinstance(replicate, FakeReplicateTrainings)
        settings = settings.model_copy(
            update={"replicate_api_token": replicate.token, "replicate_base_url": replicate.url}
        )
        async with running_app(settings) as env:
            actor_id = await actor_with_dataset(env.container)
        async with running_app(settings, worker=False) as env:
            view, job = await lora.start_training(
                env.container, actor_id, lora.TrainRequest(provider="replicate")
            )
            environ = worker_env(settings, replicate)
            processes: list[subprocess.Popen[bytes]] = []
            try:
                first = start_worker(pg_database_url, tmp_path, "first", 1, environ)
                processes.append(first)

                async def polled() -> bool:
                    row = await lora.training(env.container, view["id"])
                    gets = replicate.calls_to("/v1/trainings/", "GET")
                    return bool(row["remote_id"]) and len(gets) >= 3

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
    assert len(replicate.calls_to("/v1/models/ostris/flux-dev-lora-trainer/versions/", "POST")) == 1
    assert list(replicate.trainings) == [remote_id]
    assert not replicate.cancelled
