"""Built-in job kinds for checking a deployment: ``diagnostic.sleep``, ``diagnostic.remote``."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ConfigDict, Field

from castsmith.domain.errors import (
    InfrastructureUnavailable,
    ProviderUnavailable,
    ValidationError,
)
from castsmith.jobs.registry import HandlerRegistry, JobContext, JobPayload

SLEEP_KIND = "diagnostic.sleep"
REMOTE_KIND = "diagnostic.remote"
PROGRESS_STEPS = 4
# A diagnostic job holds a worker slot while it sleeps: an hour is plenty for a check.
MAX_SECONDS = 3600.0
MAX_PLANNED_FAILURES = 100


class SleepPayload(JobPayload):
    """``diagnostic.sleep``: how long to sleep and how many attempts should fail first.

    Open to every user, so it stays lenient about extra keys (they are kept and
    ignored), but what it reads is typed and bounded.
    """

    model_config = ConfigDict(extra="allow")

    seconds: float = Field(default=0, ge=0, le=MAX_SECONDS)
    fail_times: int = Field(default=0, ge=0, le=MAX_PLANNED_FAILURES)


class RemotePayload(JobPayload):
    """``diagnostic.remote``: how long the stand-in remote work takes, and planned
    infrastructure failures."""

    model_config = ConfigDict(extra="allow")

    seconds: float = Field(default=0, ge=0, le=MAX_SECONDS)
    infra_fail_times: int = Field(default=0, ge=0, le=MAX_PLANNED_FAILURES)


async def sleep_handler(ctx: JobContext[Any]) -> dict[str, Any]:
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


async def remote_handler(ctx: JobContext[Any]) -> dict[str, Any]:
    """Stand in for paid remote work, the way a provider call uses the engine's hooks.

    The first attempt "submits" and records the remote id with ``ctx.checkpoint``
    before waiting ``payload.seconds``; a later attempt (after a crash, a lost lease,
    a shutdown or a retry) finds the id and resumes instead of submitting again. If
    the job is cancelled, times out or its worker shuts down while it waits, the
    cancel hook records ``remote_cancelled`` (the reason) in the checkpoint, as a
    provider would cancel the remote job. ``payload.infra_fail_times = N`` makes the
    first N attempts fail as if castsmith's store were unreachable.
    """
    try:
        seconds = float(ctx.payload.get("seconds", 0) or 0)
        infra_fail_times = int(ctx.payload.get("infra_fail_times", 0) or 0)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"bad diagnostic payload: {exc}") from exc
    state = ctx.checkpoint_data
    resumed = "remote_id" in state
    if not resumed:
        remote_id = f"diag-{ctx.job_id}-{ctx.attempt}"
        state = await ctx.checkpoint({"remote_id": remote_id, "submitted_on_attempt": ctx.attempt})

    async def cancel_remote() -> None:
        await ctx.checkpoint({"remote_cancelled": ctx.cancel_reason})

    ctx.on_cancel(cancel_remote)
    if ctx.attempt <= infra_fail_times:
        raise InfrastructureUnavailable(
            f"diagnostic: storage unreachable on attempt {ctx.attempt} of {infra_fail_times}"
        )
    await asyncio.sleep(seconds)
    return {
        "remote_id": state["remote_id"],
        "submitted_on_attempt": state["submitted_on_attempt"],
        "attempt": ctx.attempt,
        "resumed": resumed,
    }


def register_handlers(registry: HandlerRegistry) -> None:
    """Register the diagnostic kinds."""
    registry.register(SLEEP_KIND, sleep_handler, payload=SleepPayload)
    registry.register(REMOTE_KIND, remote_handler, payload=RemotePayload)
