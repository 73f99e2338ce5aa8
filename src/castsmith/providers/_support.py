"""Small helpers the clients share: polling with backoff, schemas, sizes, timings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from castsmith.domain.errors import ProviderUnavailable

T = TypeVar("T")


async def finish_then_cancel(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even when the calling task is cancelled meanwhile.

    For a paid submission and the report of its remote id (``RemoteCall.submitted``):
    a remote job created while the caller is cancelled must still have its id
    recorded and its cancel hook registered, or nothing can cancel (or resume) it
    and it is paid for in full. Once ``work`` has ended, a cancellation that arrived
    meanwhile is raised (whatever ``work`` returned or raised: the caller is being
    stopped), so the cancel hooks then find the id.
    """
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            # Unlike awaiting the task, ``asyncio.wait`` leaves it running when cancelled.
            await asyncio.wait({task})
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved: the cancel replaces it, no "never retrieved" log
        raise asyncio.CancelledError
    return task.result()


class Poller:
    """Sleeps between status polls with exponential backoff up to an overall deadline."""

    def __init__(self, interval: float, max_interval: float, max_wait: float) -> None:
        self.interval = interval
        self.max_interval = max(interval, max_interval)
        self.deadline = time.monotonic() + max_wait
        self.max_wait = max_wait

    @property
    def expired(self) -> bool:
        """True once the overall deadline has passed."""
        return time.monotonic() >= self.deadline

    async def wait(self) -> None:
        """Sleep for the current interval (never past the deadline), then back off."""
        remaining = self.deadline - time.monotonic()
        await asyncio.sleep(max(0.0, min(self.interval, remaining)))
        self.interval = min(self.max_interval, self.interval * 1.5)


class Stopwatch:
    """Named phase timings in seconds, for provenance."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._mark = self._start
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """Record the time since the previous lap under ``name``."""
        now = time.monotonic()
        self.timings[name] = round(now - self._mark, 4)
        self._mark = now

    def total(self) -> dict[str, float]:
        """The laps plus ``total``."""
        self.timings["total"] = round(time.monotonic() - self._start, 4)
        return dict(self.timings)


def schema_dict(schema: dict[str, Any] | type[BaseModel] | None) -> dict[str, Any]:
    """A JSON Schema dict for a request's schema (a model class or a dict)."""
    if schema is None:
        return {"type": "object"}
    if isinstance(schema, dict):
        return schema
    return schema.model_json_schema()


def conform(
    data: Any, schema: dict[str, Any] | type[BaseModel] | None, provider: str
) -> dict[str, Any] | BaseModel:
    """Validate parsed JSON against the request's model; a mismatch is retryable."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            return schema.model_validate(data)
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
            raise ProviderUnavailable(
                f"malformed response from {provider}: the JSON does not match the schema "
                f"({loc}: {first.get('msg', 'invalid')})",
                provider,
            ) from None
    if not isinstance(data, dict):
        raise ProviderUnavailable(
            f"malformed response from {provider}: expected a JSON object", provider
        )
    return data


ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9", "9:21")


def ratio_value(ratio: str) -> float:
    """``"16:9"`` -> 1.777..."""
    left, _, right = ratio.partition(":")
    return float(left) / float(right)


def closest_ratio(
    width: int | None, height: int | None, choices: tuple[str, ...] = ASPECT_RATIOS
) -> str:
    """The supported aspect ratio nearest to width/height (1:1 when unknown)."""
    if not width or not height:
        return "1:1"
    target = width / height
    return min(choices, key=lambda r: abs(ratio_value(r) - target))


def size_for_ratio(ratio: str, long_side: int = 1024) -> tuple[int, int]:
    """Width and height (multiples of 16) for an aspect ratio."""
    value = ratio_value(ratio)
    width, height = (
        (float(long_side), long_side / value) if value >= 1 else (long_side * value, long_side)
    )
    return int(round(width / 16) * 16), int(round(height / 16) * 16)
