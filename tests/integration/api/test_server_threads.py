"""``CASTSMITH_SERVER_THREADS``: the blocking work of a server process runs on that many
threads (the app's lifespan sets the loop's default executor)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from pathlib import Path

from castsmith.api.app import create_app
from castsmith.config import Settings
from tests.harness import operator_container


def _busy() -> tuple[str, float, float]:
    began = time.monotonic()
    time.sleep(0.2)
    return threading.current_thread().name, began, time.monotonic()


async def test_one_server_thread_runs_blocking_work_one_at_a_time(
    tmp_path: Path, sqlite_database_url: str
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_database_url, server_threads=1)
    container = operator_container(settings)
    app = create_app(container)
    try:
        async with app.router.lifespan_context(app):
            done = await asyncio.gather(*(asyncio.to_thread(_busy) for _ in range(3)))
    finally:
        container.close()
    assert {name.split("_")[0] for name, _, _ in done} == {"castsmith-server"}
    spans = sorted((began, ended) for _, began, ended in done)
    # One thread: each call starts only after the one before it ended.
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
