"""Job-completion webhooks, delivered durably as jobs of kind ``webhook.deliver``.

A job enqueued with ``webhook_url`` in its payload gets a POST when it ends
(completed, completed with errors, failed or cancelled). The delivery job is inserted
in the very transaction that records the end, so it can neither be lost nor sent for
an end that was rolled back; being a job, its retries (exponential backoff, the
engine's settings) survive restarts; ``CASTSMITH_WEBHOOK_MAX_ATTEMPTS`` bounds them.
Requests are signed with the Standard Webhooks
scheme (:mod:`castsmith.webhooks.signing`) using ``CASTSMITH_WEBHOOK_SECRET``, and the
URL passes the same address checks as any outbound download.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection, insert, select

from castsmith.domain import jobs as rules
from castsmith.domain.errors import (
    ConfigurationError,
    InvalidRequest,
    ProviderUnavailable,
    ValidationError,
)
from castsmith.jobs.registry import HandlerRegistry, JobContext
from castsmith.jobs.sql import JOBS, JOBS_CHANNEL, event_row, notify
from castsmith.net.guard import GuardPolicy, allow_list, check_url
from castsmith.webhooks.signing import signed_headers

WEBHOOK_KIND = "webhook.deliver"
URL_FIELD = "webhook_url"
DEFAULT_MAX_ATTEMPTS = 10
# The delivery rows are written inside the engine's transactions, where no settings are
# at hand; they get this ceiling and the worker's ``webhook_max_attempts`` decides
# below it (the last allowed failure is made final, see ``deliver``).
MAX_ATTEMPTS_CEILING = 100
# Receivers that say the endpoint is gone for good are not retried.
PERMANENT_STATUSES = frozenset({410})
EVENT_TYPES = {
    rules.COMPLETED: "job.completed",
    rules.COMPLETED_WITH_ERRORS: "job.completed_with_errors",
    rules.FAILED: "job.failed",
    rules.CANCELLED: "job.cancelled",
}


requested_webhook_url: ContextVar[str | None] = ContextVar("requested_webhook_url", default=None)
"""A webhook URL asked for by the current request (``?webhook_url=`` or the
``Webhook-URL`` header): every top-level job the request enqueues gets it."""


def with_webhook(payload: dict[str, Any], parent_id: int | None) -> dict[str, Any]:
    """``payload`` with a checked ``webhook_url``: its own, or the request's for top-level jobs."""
    url = payload.get(URL_FIELD)
    if url is None and parent_id is None:
        url = requested_webhook_url.get()
        if url is not None:
            payload = {**payload, URL_FIELD: url}
    if url is not None:
        validate_webhook_url(url)
    return payload


def validate_webhook_url(url: Any, field: str = URL_FIELD) -> str:
    """``url`` if it is an absolute http(s) URL; ValidationError naming ``field`` if not."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(f"{field} must be a URL", field)
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(f"{field} must be an absolute http or https URL: {url!r}", field)
    return url.strip()


def webhook_body(job: Any, status: str, now: datetime) -> dict[str, Any]:
    """What the receiver gets: the event type and the job as it ended."""
    return {
        "type": EVENT_TYPES.get(status, f"job.{status}"),
        "timestamp": now.isoformat(),
        "data": {
            "id": job.id,
            "kind": job.kind,
            "status": status,
            "result": job.result,
            "error": job.error,
            "parent_id": job.parent_id,
        },
    }


def schedule(conn: Connection, events: Sequence[dict[str, Any]]) -> None:
    """Insert a delivery job for every terminal event whose job asked for a webhook.

    Called for every batch of events inside the transaction that writes them.
    """
    ended = {
        row["job_id"]: row
        for row in events
        if row.get("event") == "status"
        and row.get("status") in rules.TERMINAL_STATUSES
        and row.get("kind") != WEBHOOK_KIND
    }
    if not ended:
        return
    jobs = conn.execute(
        select(
            JOBS.c.id,
            JOBS.c.kind,
            JOBS.c.payload,
            JOBS.c.result,
            JOBS.c.error,
            JOBS.c.parent_id,
            JOBS.c.owner_id,
        ).where(JOBS.c.id.in_(list(ended)))
    ).all()
    rows = []
    for job in jobs:
        url = (job.payload or {}).get(URL_FIELD)
        if not url:
            continue
        event = ended[job.id]
        now = event["created_at"]
        rows.append(
            {
                "kind": WEBHOOK_KIND,
                "queue": "default",
                "status": rules.QUEUED,
                "payload": {
                    "url": str(url),
                    "msg_id": f"msg_{uuid.uuid4().hex}",
                    "job_id": job.id,
                    "body": webhook_body(job, event["status"], now),
                },
                "error_log": [],
                "progress": 0.0,
                "attempts": 0,
                "max_attempts": MAX_ATTEMPTS_CEILING,
                "priority": 0,
                "run_after": now,
                "cancel_requested": False,
                "owner_id": job.owner_id,
                "label": f"webhook for job {job.id}",
                "stage": "run",
                "finalizer": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    if not rows:
        return
    created = conn.execute(
        insert(JOBS).returning(JOBS.c.id, JOBS.c.kind, JOBS.c.parent_id, JOBS.c.progress), rows
    ).all()
    from castsmith.jobs.sql import add_events

    add_events(conn, [event_row(row, rules.QUEUED, rows[0]["created_at"]) for row in created])
    notify(conn, JOBS_CHANNEL, "default")


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


async def deliver(ctx: JobContext) -> dict[str, Any]:
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


async def _deliver_once(ctx: JobContext) -> dict[str, Any]:
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
    await check_url(url, policy.allow_hosts, URL_FIELD)
    return await client.post(url, content=body, headers=headers, follow_redirects=False)


def register_handlers(registry: HandlerRegistry, max_attempts: int | None = None) -> None:
    """Register ``webhook.deliver``."""
    registry.register(WEBHOOK_KIND, deliver, max_attempts=max_attempts or DEFAULT_MAX_ATTEMPTS)


__all__ = [
    "URL_FIELD",
    "WEBHOOK_KIND",
    "attempts_allowed",
    "deliver",
    "register_handlers",
    "requested_webhook_url",
    "schedule",
    "validate_webhook_url",
    "webhook_body",
    "with_webhook",
]
