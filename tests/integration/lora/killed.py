"""A worker process killed (SIGKILL) while it polls a hosted training, for any trainer.

The Replicate and fal tests share the scenario: a first worker submits and polls, is
killed, and a second worker must follow the same remote training to its end.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from castsmith.config import Settings
from castsmith.jobs.types import JobView
from castsmith.pipelines import lora
from tests.conftest import S3_TEST_KEY, S3_TEST_REGION, S3_TEST_SECRET
from tests.harness import AppEnv, wait_job
from tests.integration.faults.processes import log_tail, start_worker
from tests.integration.jobs.helpers import stop_processes, until


def s3_worker_env(settings: Settings, trainer: dict[str, str]) -> dict[str, str]:
    """A worker process's environment: the S3 server, ``trainer``'s keys, quick polling."""
    return {
        "CASTSMITH_STORAGE_BACKEND": "s3",
        "CASTSMITH_S3_BUCKET": settings.s3_bucket,
        "CASTSMITH_S3_ENDPOINT": settings.s3_endpoint,
        "CASTSMITH_S3_REGION": S3_TEST_REGION,
        "CASTSMITH_S3_ACCESS_KEY": S3_TEST_KEY,
        "CASTSMITH_S3_SECRET_KEY": S3_TEST_SECRET,
        "CASTSMITH_S3_ADDRESSING": "path",
        "CASTSMITH_S3_ALLOW_HTTP": "true",
        "CASTSMITH_IMAGE_PROVIDER": "offline",
        "CASTSMITH_POSTER_PROVIDER": "offline",
        "CASTSMITH_LORA_POLL_INTERVAL": "0.1",
        "CASTSMITH_JOB_LEASE_SECONDS": "2",
        "AWS_EC2_METADATA_DISABLED": "true",
        **trainer,
    }


async def kill_while_polling(
    env: AppEnv,
    training: dict[str, Any],
    job_id: int,
    database_url: str,
    tmp_path: Path,
    environ: dict[str, str],
    polled: Callable[[], int],
) -> tuple[str, JobView, dict[str, Any]]:
    """Kill the first worker once it has polled three times; let a second one finish.

    Returns the remote id seen while the training ran, the job's end and the training's
    final record. ``polled()`` counts the status reads the trainer's fake has answered.
    """
    processes: list[subprocess.Popen[bytes]] = []

    async def polling() -> bool:
        row = await lora.training(env.container, training["id"])
        return bool(row["remote_id"]) and polled() >= 3

    try:
        first = start_worker(database_url, tmp_path, "first", 1, environ)
        processes.append(first)
        await until_or_log(polling, 60, tmp_path, "first")
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
        running = await lora.training(env.container, training["id"])
        assert running["status"] == "running"
        second = start_worker(database_url, tmp_path, "second", 1, environ)
        processes.append(second)
        try:
            done = await wait_job(env.container, job_id, 90)
        except AssertionError:
            raise AssertionError(log_tail(tmp_path, "second")) from None
    finally:
        stop_processes(processes)
    assert done.status == "completed", done.error
    return str(running["remote_id"]), done, await lora.training(env.container, training["id"])


async def until_or_log(
    check: Callable[[], Awaitable[bool]], deadline: float, tmp_path: Path, worker: str
) -> None:
    """``until``, failing with the tail of ``worker``'s log instead of a bare timeout."""
    try:
        await until(check, deadline)
    except AssertionError:
        raise AssertionError(log_tail(tmp_path, worker)) from None
