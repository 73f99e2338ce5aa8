"""Delivering one webhook: a signed POST, retried as a job of kind ``webhook.deliver``.

Requests are signed with the Standard Webhooks scheme (:mod:`castsmith.webhooks.signing`)
using ``CASTSMITH_WEBHOOK_SECRET``, and the URL passes the same address checks as any
outbound download. ``CASTSMITH_WEBHOOK_MAX_ATTEMPTS`` bounds the retries.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from castsmith.domain.errors import (
    ConfigurationError,
    InvalidRequest,
    ProviderUnavailable,
    ValidationError,
)
from castsmith.jobs.registry import HandlerRegistry, JobContext, JobPayload, PayloadRowId
from castsmith.net.guard import GuardPolicy, allow_list, check_url, pinned_request
from castsmith.webhooks.scheduling import (
    MAX_ATTEMPTS_CEILING,
    URL_FIELD,
    WEBHOOK_KIND,
    validate_webhook_url,
)
from castsmith.webhooks.signing import signed_headers

DEFAULT_MAX_ATTEMPTS = 10
# Receivers that say the endpoint is gone for good are not retried.
PERMANENT_STATUSES = frozenset({410})


class DeliveryPayload(JobPayload):
    """``webhook.deliver``: where to POST, the message id receivers de-duplicate by,
    the job the delivery is about, and the body to sign."""

    url: str
    msg_id: str
    job_id: PayloadRowId | None = None
    body: dict[str, Any] = {}


def _guard(settings: Any) -> GuardPolicy:
    return GuardPolicy(
        max_bytes=64 * 1024,
        timeout=float(getattr(settings, "webhook_timeout", 10.0)),
        allow_hosts=allow_list(getattr(settings, "fetch_allow_hosts", "")),
    )


def attempts_allowed(settings: Any) -> int:
    """How many times one delivery is tried (``CASTSMITH_WEBHOOK_MAX_ATTEMPTS``)."""
    wanted = int(getattr(settings, "webhook_max_attempts", DEFAULT_MAX_ATTEMPTS))
    return max(1, min(wanted, MAX_ATTEMPTS_CEILING))


async def deliver(ctx: JobContext[Any]) -> dict[str, Any]:
    """POST one signed delivery; non-2xx answers and network errors are retried.

    Retries stop after ``CASTSMITH_WEBHOOK_MAX_ATTEMPTS`` attempts: the last failure is
    reported as final, naming the number of attempts.
    """
    limit = attempts_allowed(ctx.services.settings)
    try:
        return await _deliver_once(ctx)
    except ProviderUnavailable as exc:
        if ctx.attempt < limit:
            raise
        raise InvalidRequest(
            f"{exc.message}; gave up after {ctx.attempt} attempts", "webhook"
        ) from None


async def _deliver_once(ctx: JobContext[Any]) -> dict[str, Any]:
    settings = ctx.services.settings
    if settings.webhook_secret is None:
        raise ConfigurationError(
            "job webhooks need CASTSMITH_WEBHOOK_SECRET (a whsec_<base64> key) to sign with"
        )
    secret = settings.webhook_secret.get_secret_value()
    url = validate_webhook_url(ctx.payload.get("url"), "url")
    body = json.dumps(ctx.payload.get("body", {}), separators=(",", ":")).encode()
    headers = signed_headers(secret, str(ctx.payload["msg_id"]), body)
    headers["content-type"] = "application/json"
    policy = _guard(settings)
    async with httpx.AsyncClient(trust_env=False, timeout=policy.timeout) as client:
        try:
            response = await _post(client, url, body, headers, policy)
        except ValidationError as exc:
            raise InvalidRequest(f"webhook refused: {exc}", "webhook") from None
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"webhook delivery to {url} failed ({type(exc).__name__})", "webhook"
            ) from None
    if response.status_code in PERMANENT_STATUSES:
        raise InvalidRequest(
            f"webhook receiver {url} answered HTTP {response.status_code}; not retried",
            "webhook",
        )
    if not response.is_success:
        raise ProviderUnavailable(
            f"webhook receiver {url} answered HTTP {response.status_code}", "webhook"
        )
    return {"status_code": response.status_code, "msg_id": ctx.payload["msg_id"]}


async def _post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    policy: GuardPolicy,
) -> httpx.Response:
    # The address check of the guard, then a POST that follows no redirect: a
    # receiver that moved must be reconfigured, not chased around the network.
    # The POST goes to the address that was checked, not to a second DNS answer.
    addresses = await check_url(url, policy.allow_hosts, URL_FIELD, resolve=policy.resolve)
    request = pinned_request(
        client, "POST", url, addresses, headers=headers, content=body, timeout=policy.timeout
    )
    return await client.send(request, follow_redirects=False)


def register_handlers(registry: HandlerRegistry, max_attempts: int | None = None) -> None:
    """Register ``webhook.deliver``."""
    registry.register(
        WEBHOOK_KIND,
        deliver,
        max_attempts=max_attempts or DEFAULT_MAX_ATTEMPTS,
        payload=DeliveryPayload,
    )
