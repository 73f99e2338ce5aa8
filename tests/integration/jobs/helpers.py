"""Helpers for job engine tests: queues on a database, workers in-process and as processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from castsmith.db.engine import make_engine
from castsmith.domain.jobs import RetryPolicy
from castsmith.jobs.diagnostic import register_handlers
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import HandlerRegistry
from castsmith.jobs.worker import Worker

CASTSMITH = str(Path(sys.executable).parent / "castsmith")
FAST = {
    "poll_interval": 0.05,
    "heartbeat_interval": 0.2,
    "shutdown_grace": 1.0,
    "retry_policy": RetryPolicy(0.01, 0.05),
}


def registry() -> HandlerRegistry:
    """A registry with the built-in kinds."""
    reg = HandlerRegistry()
    register_handlers(reg)
    return reg


def queue_for(url: str, reg: HandlerRegistry | None = None, **options: Any) -> JobQueue:
    """A queue over a fresh engine on ``url``."""
    engine: Engine = make_engine(url)
    return JobQueue(engine, registry=reg, **options)


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    """Run ``worker`` for the duration of the block, then stop it gracefully."""
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)


async def until(check: Callable[[], Awaitable[bool] | bool], deadline: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail the test after ``deadline`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        value = check()
        if not isinstance(value, bool):
            value = await value
        if value:
            return
        if loop.time() > end:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.05)


def job_status(queue: JobQueue, job_id: int) -> Callable[[], Awaitable[bool]]:
    """A check that job ``job_id`` reached a terminal status."""

    async def check() -> bool:
        job = await asyncio.to_thread(queue.get, job_id)
        return job.status in {"completed", "completed_with_errors", "failed", "cancelled"}

    return check


def start_worker_process(
    url: str,
    tmp: Path,
    concurrency: int = 8,
    env: dict[str, str] | None = None,
    *,
    log_path: Path | None = None,
    log_level: str = "INFO",
) -> subprocess.Popen[bytes]:
    """``castsmith --database-url URL worker`` as a child process.

    Its log goes to a file (``proc.log_path``; a fresh one in ``tmp`` unless
    ``log_path`` names one to append to), never to a pipe: a pipe nobody reads fills up
    when the worker logs a lot (say, while the database is down) and then freezes the
    worker.
    """
    environ = (
        os.environ
        | {
            "CASTSMITH_WORKER_INTERVAL": "0.1",
            "CASTSMITH_JOB_HEARTBEAT_SECONDS": "0.3",
            "CASTSMITH_LOG_LEVEL": log_level,
        }
        | (env or {})
    )
    log_path = log_path or tmp / f"worker-{uuid.uuid4().hex[:8]}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                CASTSMITH,
                "--database-url",
                url,
                "--data-dir",
                str(tmp),
                "worker",
                "--concurrency",
                str(concurrency),
            ],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def worker_log(proc: subprocess.Popen[bytes]) -> str:
    """Everything a worker process has logged so far."""
    path: Path = proc.log_path  # type: ignore[attr-defined]
    return path.read_text(errors="replace")


async def until_started(processes: list[subprocess.Popen[bytes]], deadline: float = 60) -> None:
    """Wait until every worker process has entered its claim loop."""
    await until(lambda: all("worker started" in worker_log(p) for p in processes), deadline)


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every process still running and wait for it (SIGKILL after 30 s)."""
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    for proc in processes:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
