"""Built-in job kinds for checking a deployment: ``diagnostic.sleep``."""

from __future__ import annotations

import asyncio
from typing import Any

from castsmith.domain.errors import ProviderUnavailable, ValidationError
from castsmith.jobs.registry import HandlerRegistry, JobContext

SLEEP_KIND = "diagnostic.sleep"
PROGRESS_STEPS = 4


async def sleep_handler(ctx: JobContext) -> dict[str, Any]:
    """Sleep ``payload.seconds`` (default 0) reporting progress.

    ``payload.fail_times = N`` makes the first N attempts fail with a retryable error.
    """
    try:
        seconds = float(ctx.payload.get("seconds", 0) or 0)
        fail_times = int(ctx.payload.get("fail_times", 0) or 0)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"bad diagnostic payload: {exc}") from exc
    if ctx.attempt <= fail_times:
        raise ProviderUnavailable(
            f"diagnostic failure on attempt {ctx.attempt} of {fail_times} planned",
            provider="diagnostic",
        )
    if seconds > 0:
        step = seconds / PROGRESS_STEPS
        for done in range(1, PROGRESS_STEPS + 1):
            await asyncio.sleep(step)
            await ctx.progress(100.0 * done / PROGRESS_STEPS, f"slept {step * done:.2f}s")
    return {"slept": seconds, "attempt": ctx.attempt}


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the diagnostic kinds."""
    registry.register(SLEEP_KIND, sleep_handler)
