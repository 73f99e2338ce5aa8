"""A RunPod poster is paid for once: a killed or stopped worker's successor follows the
same remote job, a timed-out attempt cancels its remote job and the retry submits anew,
and cancelling the castsmith job cancels the remote one. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest

from castsmith.config import Settings
from tests.fakes import FakeRunPod
from tests.harness import running_app, wait_job
from tests.integration.faults.processes import log_tail, start_worker
from tests.integration.jobs.helpers import stop_processes, until

pytestmark = pytest.mark.slow


def settings_for(base: Settings, fake: FakeRunPod, database_url: str) -> Settings:
    return base.model_copy(
        update={
            "database_url": database_url,
            "runpod_api_key": fake.api_key,
            "runpod_endpoint_url": fake.base,
            "runpod_mode": "run",
            "poster_provider": "runpod",
        }
    )


def status_polls(fake: FakeRunPod) -> int:
    return len(fake.calls_to(f"/v2/{fake.endpoint_id}/status/"))


async def test_a_killed_worker_resumes_the_remote_job_and_pays_once(
    database_url: str, tmp_path: Path
) -> None:
    with FakeRunPod(polls_before_done=4) as fake:
        settings = settings_for(Settings(data_dir=tmp_path), fake, database_url)
        async with running_app(settings, worker=False) as env:
            actor_id = await env.create_actor()
            answer = await env.client.post(f"/api/actors/{actor_id}/regenerate-poster-frame")
            assert answer.status_code == 202, answer.text
            job_id = int(answer.json()["job_id"])
            environ = {
                "CASTSMITH_DATA_DIR": str(tmp_path),
                "CASTSMITH_RUNPOD_API_KEY": fake.api_key,
                "CASTSMITH_RUNPOD_ENDPOINT_URL": fake.base,
                "CASTSMITH_RUNPOD_MODE": "run",
                "CASTSMITH_POSTER_PROVIDER": "runpod",
                "CASTSMITH_JOB_LEASE_SECONDS": "2",
            }
            processes: list[subprocess.Popen[bytes]] = []
            try:
                first = start_worker(database_url, tmp_path, "first", 1, environ)
                processes.append(first)

                async def waiting_on_runpod() -> bool:
                    return status_polls(fake) >= 2

                try:
                    await until(waiting_on_runpod, 60)
                except AssertionError:
                    raise AssertionError(log_tail(tmp_path, "first")) from None
                first.send_signal(signal.SIGKILL)
                await asyncio.to_thread(first.wait)
                (remote_id,) = list(fake.jobs)
                assert fake.jobs[remote_id]["status"] != "COMPLETED"

                second = start_worker(database_url, tmp_path, "second", 1, environ)
                processes.append(second)
                try:
                    done = await wait_job(env.container, job_id, 90)
                except AssertionError:
                    raise AssertionError(log_tail(tmp_path, "second")) from None
            finally:
                stop_processes(processes)
            assert done.status == "completed", done.error
            items = (await env.client.get(f"/api/actors/{actor_id}/poster-frames")).json()
    # One submission at the fake, the same remote job followed to its end, one poster.
    assert len(fake.calls_to(f"/v2/{fake.endpoint_id}/run")) == 1
    assert list(fake.jobs) == [remote_id] and fake.jobs[remote_id]["status"] == "COMPLETED"
    assert [item["version"] for item in items["items"]] == [1]
    assert fake.calls_to(f"/v2/{fake.endpoint_id}/cancel/") == []


async def test_cancelling_the_job_cancels_the_runpod_job(database_url: str, tmp_path: Path) -> None:
    with FakeRunPod(polls_before_done=10_000) as fake:
        settings = settings_for(Settings(data_dir=tmp_path), fake, database_url)
        async with running_app(settings) as env:
            actor_id = await env.create_actor()
            answer = await env.client.post(f"/api/actors/{actor_id}/regenerate-poster-frame")
            job_id = int(answer.json()["job_id"])

            async def submitted() -> bool:
                return status_polls(fake) >= 1

            await until(submitted, 30)
            (remote_id,) = list(fake.jobs)
            cancelled = await env.client.post(f"/api/jobs/{job_id}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            done = await wait_job(env.container, job_id, 30)

            async def remote_cancelled() -> bool:
                return fake.jobs[remote_id]["status"] == "CANCELLED"

            await until(remote_cancelled, 10)
    assert done.status == "cancelled"
    assert [c.path for c in fake.calls_to(f"/v2/{fake.endpoint_id}/cancel/")] == [
        f"/v2/{fake.endpoint_id}/cancel/{remote_id}"
    ]
    assert len(fake.calls_to(f"/v2/{fake.endpoint_id}/run")) == 1
