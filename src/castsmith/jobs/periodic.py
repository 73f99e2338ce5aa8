"""Periodic tasks: each runs once per period across all workers.

A task's period is cut into fixed windows (``floor(epoch / period)``); the first
worker to insert ``(name, window start)`` into ``periodic_runs`` runs it, everyone
else sees the unique key taken and skips.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from castsmith.jobs.queue import JobQueue

PeriodicFn = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class PeriodicTask:
    """``fn(services)`` runs once every ``period`` seconds, cluster-wide."""

    name: str
    period: float
    fn: PeriodicFn


def window_start(now: datetime, period: float) -> datetime:
    """The start of the period window ``now`` falls in."""
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - (epoch % period), UTC)


def prune_events_task(
    queue: JobQueue, retention_seconds: float, period: float = 3600.0
) -> PeriodicTask:
    """The built-in task that deletes job events older than the retention."""

    async def prune(_services: Any) -> None:
        import asyncio

        await asyncio.to_thread(queue.prune_events, timedelta(seconds=retention_seconds))

    return PeriodicTask("jobs.prune_events", period, prune)
