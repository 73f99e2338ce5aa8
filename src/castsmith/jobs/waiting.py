"""Waiting for a job to end: the one poll loop behind ``?wait`` routes and ``--wait`` CLIs.

Polling reads the job row, so it works on both databases and whichever process runs
the job; the interval grows from ``poll`` to ``max_poll`` so a long wait costs few reads
while a quick job is seen almost at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from castsmith.domain.jobs import TERMINAL_STATUSES
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.types import JobView

OnUpdate = Callable[[JobView], Awaitable[None]]


async def wait_for_job(
    queue: JobQueue,
    job_id: int,
    wait_seconds: float | None = None,
    *,
    poll: float = 0.05,
    max_poll: float = 0.5,
    on_update: OnUpdate | None = None,
) -> JobView | None:
    """The job once it has ended, or ``None`` if it is still going after ``wait_seconds``.

    ``wait_seconds`` ``None`` waits for as long as it takes. ``on_update`` sees every
    state read, the final one included (progress display).
    """
    deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
    while True:
        job = await asyncio.to_thread(queue.get, job_id)
        if on_update is not None:
            await on_update(job)
        if job.status in TERMINAL_STATUSES:
            return job
        if deadline is None:
            await asyncio.sleep(poll)
        else:
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        poll = min(poll * 1.5, max(poll, max_poll))
