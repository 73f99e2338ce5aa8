"""Failover between providers, and a circuit breaker that skips one that is down.

``CASTSMITH_FAILOVER`` names, per role, the providers to try in order after the one the
role is configured with. Image roles: ``poster``, ``image`` (training images,
image-to-image), ``reference``, ``base`` (an actor's generated base image,
text-to-image) and ``persona_image`` (a persona's selfie and grid); the text role
``persona_data`` (persona JSON and selfie prompts) fails over between text providers
the same way, so both kinds share this one mechanism. A call that fails
with a retryable error (5xx, a timeout, a connection error, a 429) moves on to the next
provider; an invalid request or a filtered prompt never does (the next provider would
refuse it too). Nor does a call whose remote job may still be running (the poll ran
out, the status could not be read): following it on the job's retry is paying once,
starting it elsewhere would pay twice.

The breaker reads the cost ledger, which every worker writes: a provider whose last
``CASTSMITH_BREAKER_FAILURES`` calls all failed with retryable errors, the latest less
than ``CASTSMITH_BREAKER_COOLDOWN`` seconds ago, is open and skipped. Once the
cool-down has passed the next call goes through as a probe (half-open): a success
closes the breaker, a failure opens it for another cool-down. When every candidate is
open the call fails as unavailable, retryable after the cool-down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar, cast

from castsmith.db.repositories.costs import CostRepository
from castsmith.domain import costs as rules
from castsmith.domain.errors import CastsmithError, ProviderError, ProviderUnavailable
from castsmith.domain.times import as_utc
from castsmith.jobs.current import current_job
from castsmith.pipelines._ledger import provider_call
from castsmith.pipelines._remote import RemoteWork
from castsmith.pipelines._services import Services
from castsmith.providers import usage
from castsmith.providers.base import (
    ImageProvider,
    RemoteCall,
    TextProvider,
    TextRequest,
    TextResult,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Image or text provider: a role's candidates are all of the first one's kind.
P = TypeVar("P", ImageProvider, TextProvider)

#: The capability each kind of call needs.
_NEEDS = {"workflow": "workflow", "text_to_image": "text_to_image"}


class CircuitOpen(ProviderUnavailable):
    """Every provider for the role is failing; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, provider: str, retry_after: float | None) -> None:
        super().__init__(message, provider)
        self.retry_after = retry_after


def _lookup(services: Services, first: P, name: str) -> P:
    """The provider ``name`` of ``first``'s kind (text or image); raises when absent."""
    found: ImageProvider | TextProvider = (
        services.providers.text(name)
        if isinstance(first, TextProvider)
        else services.providers.image(name)
    )
    return cast(P, found)


def _able(provider: ImageProvider | TextProvider, kind: str) -> bool:
    """Whether ``provider`` can make this kind of call (every text provider can)."""
    if isinstance(provider, TextProvider):
        return True
    return bool(getattr(provider.capabilities, _NEEDS.get(kind, "image_to_image"), False))


def candidates(services: Services, role: str, kind: str, first: P) -> list[P]:
    """``first``, then the role's failover providers that are configured and able."""
    found = [first]
    for name in services.settings.failover.get(role, []):
        if name == first.name or any(p.name == name for p in found):
            continue
        try:
            provider = _lookup(services, first, name)
        except CastsmithError as exc:
            log.warning("failover provider %s for %s is not usable: %s", name, role, exc)
            continue
        if _able(provider, kind):
            found.append(provider)
    return found


def breaker_open_until(services: Services, provider: str) -> float:
    """Seconds until ``provider``'s breaker lets a probe through (0 when closed)."""
    settings = services.settings
    with services.sessions() as session:
        recent = CostRepository(session, services.caller).recent(
            provider, settings.breaker_failures
        )
    if len(recent) < settings.breaker_failures:
        return 0.0
    if any(row.status != rules.FAILED or not row.usage.get("retryable") for row in recent):
        return 0.0
    latest = as_utc(recent[0].created_at)  # SQLite gives stored UTC times back naive
    age = (datetime.now(UTC) - latest).total_seconds()
    return max(0.0, settings.breaker_cooldown - age)


async def with_failover(
    services: Services,
    role: str,
    kind: str,
    first: P,
    call: Callable[[P, RemoteCall | None], Awaitable[T]],
    *,
    actor_id: int | None = None,
    persona_task_id: str | None = None,
    work: RemoteWork | None = None,
) -> T:
    """Run ``call(provider, remote)`` on the role's providers in turn (see the module).

    ``remote`` is None for text providers (their calls are synchronous, nothing to
    resume) and outside a job. The result is the serving provider's, so provenance
    built from it names the provider that actually served.
    """
    providers = candidates(services, role, kind, first)
    waits: list[float] = []
    last_error: ProviderError | None = None
    ctx = current_job()
    for index, provider in enumerate(providers):
        # A remote job this job already started there is followed whatever the breaker
        # says: skipping it would pay for the work twice.
        resuming = (
            ctx is not None
            and isinstance(provider, ImageProvider)
            and bool((work or RemoteWork(ctx)).resume_id(provider))
        )
        if len(providers) > 1 and not resuming:
            wait = await asyncio.to_thread(breaker_open_until, services, provider.name)
            if wait > 0:
                waits.append(wait)
                log.info("skipping %s: its circuit breaker is open for %.0f s", provider.name, wait)
                continue
        seen: list[usage.CallUsage] = []
        try:
            async with provider_call(
                services,
                # A text call has no remote job to make pay-once: metered by name only.
                provider if isinstance(provider, ImageProvider) else provider.name,
                kind,
                actor_id=actor_id,
                persona_task_id=persona_task_id,
                work=work,
                seen=seen,
            ) as remote:
                return await call(provider, remote)
        except ProviderError as exc:
            pending = bool(seen and seen[0].remote_ids and "remote_failed" not in seen[0].fields)
            if not exc.retryable or pending or index == len(providers) - 1:
                raise
            last_error = exc
            following = providers[index + 1].name
            log.warning("%s failed (%s); failing over to %s", provider.name, exc, following)
            if ctx is not None:
                await ctx.progress(5, f"{provider.name} failed; trying {following}")
    if last_error is not None:
        raise last_error
    raise CircuitOpen(
        f"every provider for {role} is failing ({', '.join(p.name for p in providers)}); "
        "their circuit breakers are open",
        providers[0].name,
        retry_after=min(waits) if waits else None,
    )


async def ask_text(
    text: TextProvider,
    request: TextRequest,
    *,
    role: str = "persona_data",
    persona_task_id: str | None = None,
) -> TextResult:
    """``text.generate_json(request)``, metered and failing over along ``role``.

    The persona pipelines that ask for text take no services, so the running job's
    are used; outside a job (a direct call) the provider is asked as it is.
    """
    ctx = current_job()
    if ctx is None:
        return await text.generate_json(request)

    async def ask(provider: TextProvider, _remote: RemoteCall | None) -> TextResult:
        return await provider.generate_json(request)

    services: Services = ctx.services
    return await with_failover(services, role, "text", text, ask, persona_task_id=persona_task_id)
