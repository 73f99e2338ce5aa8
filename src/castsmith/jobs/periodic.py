"""Periodic tasks: each runs once per period across all workers.

A task's period is cut into fixed windows (``floor(epoch / period)``); the first
worker to insert ``(name, window start)`` into ``periodic_runs`` runs it, everyone
else sees the unique key taken and skips.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
