"""Every provider call a pipeline makes: paid once, and written in the cost ledger.

``async with provider_call(services, provider, "image_to_image") as remote:`` around
the call, passing ``remote=remote`` to the provider. Inside a job it gives the
provider a :class:`~castsmith.providers.base.RemoteCall` (the remote id is
checkpointed before waiting and resumed on a retry, see :mod:`._remote`), and when the
call ends it records a :class:`~castsmith.db.models_costs.ProviderCall` row: provider,
kind, how it ended, the usage the provider reported and the cost from the configured
prices.

How a stopped call is recorded depends on why it stopped, which is only known once the
worker runs the job's cancel hooks, so the row is written from a hook then: a user's
cancel is ``cancelled``; a timeout is ``failed``; a worker's shutdown records nothing
when a remote job was submitted (it keeps running and the next attempt records it once
it ends, so it is counted once), else ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from castsmith.db.repositories.costs import CostRepository
from castsmith.domain import costs as rules
from castsmith.domain.errors import JobCancelled
from castsmith.jobs.current import current_job
from castsmith.pipelines._remote import SHUTDOWN, TIMEOUT, RemoteWork
from castsmith.pipelines._services import Ctx, Services
from castsmith.providers import usage
from castsmith.providers.base import ImageProvider, RemoteCall

log = logging.getLogger(__name__)


@asynccontextmanager
async def provider_call(
    services: Services,
    provider: ImageProvider | str,
    kind: str,
    *,
    actor_id: int | None = None,
    persona_task_id: str | None = None,
    step: str | None = None,
    work: RemoteWork | None = None,
    seen: list[usage.CallUsage] | None = None,
) -> AsyncIterator[RemoteCall | None]:
    """Meter one provider call (and make it pay-once inside a job); yields its ``remote``.

    ``actor_id`` and ``persona_task_id`` default to the running job's payload. ``step``
    tells apart several remote calls of one job (see :class:`RemoteWork`); ``work`` is
    a handler's own :class:`RemoteWork`, used instead of one made here. ``seen`` gets
    the call's measured usage (failover reads whether a remote job is still pending).
    """
    ctx = work.ctx if work is not None else current_job()
    name = provider if isinstance(provider, str) else provider.name
    if work is None and ctx is not None and isinstance(provider, ImageProvider):
        work = RemoteWork(ctx, step)
    call = work.call(provider) if work is not None and isinstance(provider, ImageProvider) else None
    entry = _Entry(services, ctx, name, kind, actor_id, persona_task_id)
    with usage.measuring() as measured:
        if seen is not None:
            seen.append(measured)
        try:
            yield call
        except asyncio.CancelledError:
            if ctx is None:
                await entry.record(measured, rules.CANCELLED)
            else:
                ctx.on_cancel(lambda: entry.stopped(ctx, measured))
            raise
        except JobCancelled:
            await entry.record(measured, rules.CANCELLED)
            raise
        except BaseException as exc:
            # Whether another attempt may succeed: the circuit breaker counts these.
            measured.fields["retryable"] = bool(getattr(exc, "retryable", False))
            if work is not None:
                # A retry follows the remote job only while it may still succeed.
                await work.forget(exc, ended="remote_failed" in measured.fields)
            await entry.record(measured, rules.FAILED)
            raise
        await entry.record(measured, rules.SUCCEEDED)


class _Entry:
    """What a ledger row needs besides the usage: who, what for, which provider."""

    def __init__(
        self,
        services: Services,
        ctx: Ctx | None,
        provider: str,
        kind: str,
        actor_id: int | None,
        persona_task_id: str | None,
    ) -> None:
        payload = ctx.payload if ctx is not None else {}
        if actor_id is None and isinstance(payload.get("actor_id"), int):
            actor_id = int(payload["actor_id"])
        if persona_task_id is None and ctx is not None and ctx.kind.startswith("persona."):
            persona_task_id = str(payload.get("task_id") or "") or None
        self.services = services
        self.values: dict[str, Any] = {
            "job_id": ctx.job_id if ctx is not None else None,
            "owner_id": ctx.job.owner_id if ctx is not None else services.caller.user_id,
            "actor_id": actor_id,
            "persona_task_id": persona_task_id,
            "provider": provider,
            "kind": kind,
        }

    async def stopped(self, ctx: Ctx, measured: usage.CallUsage) -> None:
        """The call's handler was stopped: record it by the reason (see the module)."""
        if ctx.cancel_reason == SHUTDOWN and measured.remote_ids:
            return
        timed_out = ctx.cancel_reason == TIMEOUT
        if timed_out:
            measured.fields["timed_out"] = True
        await self.record(measured, rules.FAILED if timed_out else rules.CANCELLED)

    async def record(self, measured: usage.CallUsage, status: str) -> None:
        """Write the row for the measured call."""
        await write_call(
            self.services,
            self.values,
            status,
            {**measured.fields, "elapsed": round(measured.elapsed, 3)},
            measured.remote_ids,
        )


async def write_call(
    services: Services,
    values: dict[str, Any],
    status: str,
    fields: dict[str, Any],
    remote_ids: list[str],
) -> None:
    """Write one ledger row: ``values`` says who and what, ``fields`` the usage.

    A ledger that cannot be written never fails the work itself: it is logged.
    """
    seconds = rules.reported_seconds(fields)
    price = rules.price_for(services.settings.prices, values["provider"], values["kind"])
    if seconds is None and price.per_second and "elapsed" in fields:
        # Nothing reported (a job cancelled while it ran): our clock, an upper bound.
        seconds = float(fields["elapsed"])
    images = int(fields.get("images") or 0) if status == rules.SUCCEEDED else 0
    trainings = 1 if values["kind"] == "training" and status == rules.SUCCEEDED else 0
    row = {
        **values,
        "status": status,
        "remote_id": ",".join(remote_ids)[:512] or None,
        "usage": fields,
        "seconds": seconds,
        "images": images,
        "cost": rules.cost_of(price, seconds=seconds, images=images, trainings=trainings),
    }

    def write() -> None:
        with services.sessions.begin() as session:
            CostRepository(session, services.caller).add(**row)

    try:
        await asyncio.to_thread(write)
    except Exception:
        log.exception("the cost of a %s call was not recorded", values["provider"])


async def record_training(
    services: Services,
    *,
    provider: str,
    status: str,
    usage_fields: dict[str, Any],
    remote_id: str | None,
    actor_id: int,
    elapsed: float | None,
) -> None:
    """Write a LoRA training's row once it ended (its usage as the trainer reported)."""
    ctx = current_job()
    values = {
        "job_id": ctx.job_id if ctx is not None else None,
        "owner_id": ctx.job.owner_id if ctx is not None else None,
        "actor_id": actor_id,
        "persona_task_id": None,
        "provider": provider,
        "kind": "training",
    }
    fields = dict(usage_fields)
    if elapsed is not None:
        fields["elapsed"] = round(elapsed, 3)
    await write_call(services, values, status, fields, [remote_id] if remote_id else [])
