"""The event stream: waking readers when new job events exist, and following them.

Events live in ``job_events`` (ordered by id), so a reader can always catch up from
the last id it saw. The hub only says *when* to look: PostgreSQL NOTIFY wakes it
across machines; writes in this process wake it at once; on SQLite a short poll of
the newest event id also notices writes by worker processes sharing the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import func, select

from castsmith.domain.jobs import is_terminal
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.sql import EVENTS, EVENTS_CHANNEL
from castsmith.jobs.types import EventView

log = logging.getLogger("castsmith.jobs.events")


class EventHub:
    """Wakes event readers; one per process, started on first use."""

    def __init__(self, queue: JobQueue, poll_interval: float = 0.25) -> None:
        self.queue = queue
        self.poll_interval = poll_interval
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Begin listening (idempotent); must run inside the event loop."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self.queue.add_listener(self._poke_threadsafe)
        if self.queue.is_postgres:
            from castsmith.jobs.notify import listen

            coro = listen(
                self.queue.engine,
                [EVENTS_CHANNEL],
                lambda _c, _p: self.poke(),
                on_connect=self.poke,
            )
        else:
            coro = self._poll()
        self._task = asyncio.create_task(coro, name="castsmith-event-hub")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def poke(self) -> None:
        """Wake every waiting reader (call from the loop's thread)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _poke_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.poke)

    async def wait(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until something changed; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._changed.wait()
            return True
        except TimeoutError:
            return False

    def latest_id(self) -> int:
        """The newest event id (0 when there are none)."""
        with self.queue.engine.connect() as conn:
            return int(conn.execute(select(func.max(EVENTS.c.id))).scalar() or 0)

    async def _poll(self) -> None:
        last = -1
        while True:
            try:
                newest = await asyncio.to_thread(self.latest_id)
                if newest != last:
                    last = newest
                    self.poke()
            except Exception:
                log.exception("polling job events failed")
            await asyncio.sleep(self.poll_interval)


async def follow(
    hub: EventHub,
    after_id: int,
    *,
    job_id: int | None = None,
    kind: str | None = None,
    parent_id: int | None = None,
    idle_timeout: float = 15.0,
) -> AsyncIterator[EventView | None]:
    """Yield events after ``after_id`` in order, forever (``None`` after each idle
    timeout, so callers can send keep-alives). With ``job_id`` it ends after that
    job's terminal status event."""
    last = after_id
    while True:
        waiter = asyncio.ensure_future(hub.wait(idle_timeout))
        try:
            events = await asyncio.to_thread(
                hub.queue.events_after, last, job_id=job_id, kind=kind, parent_id=parent_id
            )
            for event in events:
                last = event.id
                yield event
                if job_id is not None and event.event == "status" and is_terminal(event.status):
                    return
            if events:
                continue
            if not await waiter:
                yield None
        finally:
            waiter.cancel()
