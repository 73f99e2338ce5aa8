"""Worker subprocesses for fault tests, logging to files.

A worker that loses its database or store logs a traceback per failed attempt; a pipe
nobody reads fills up and blocks the worker on its next log line, so the logs go to a
file instead (shown when a test fails).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.integration.jobs.helpers import CASTSMITH


def start_worker(
    url: str, tmp: Path, name: str, concurrency: int = 2, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``castsmith --database-url URL worker`` with its log in ``tmp/<name>.log``."""
    environ = (
        os.environ
        | {
            "CASTSMITH_WORKER_INTERVAL": "0.1",
            "CASTSMITH_JOB_HEARTBEAT_SECONDS": "0.3",
            "CASTSMITH_LOG_LEVEL": "WARNING",
        }
        | (env or {})
    )
    with (tmp / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
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


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
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


def log_tail(tmp: Path, name: str, chars: int = 2000) -> str:
    """The end of a worker's log."""
    path = tmp / f"{name}.log"
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""
