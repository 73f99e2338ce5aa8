"""Worker subprocesses for fault tests, logging to files.

A worker that loses its database or store logs a traceback per failed attempt; a pipe
nobody reads fills up and blocks the worker on its next log line, so the logs go to a
file instead (shown when a test fails).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.integration.jobs.helpers import start_worker_process


def start_worker(
    url: str, tmp: Path, name: str, concurrency: int = 2, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``castsmith --database-url URL worker`` with its log in ``tmp/<name>.log``."""
    return start_worker_process(
        url, tmp, concurrency, env, log_path=tmp / f"{name}.log", log_level="WARNING"
    )


def log_tail(tmp: Path, name: str, chars: int = 2000) -> str:
    """The end of a worker's log."""
    path = tmp / f"{name}.log"
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""
