"""Which job ends get a webhook, and the durable delivery jobs that carry them.

A job enqueued with a ``webhook_url`` (the :class:`~castsmith.jobs.types.JobSpec`
field; a ``webhook_url`` key in its payload is taken as that field too) gets a POST
when it ends: completed, completed with errors, failed or cancelled. :func:`install`
wires this to the engine: the URL is checked when the job is enqueued, and the engine's
end hook inserts a ``webhook.deliver`` job in the very transaction that records the
end, so a delivery can neither be lost nor sent for an end that was rolled back. Being
a job, its retries survive restarts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, select

from castsmith.domain import jobs as rules
from castsmith.domain.errors import ValidationError
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.sql import JOBS, JOBS_CHANNEL, add_events, event_row, notify
from castsmith.jobs.types import JobSpec

WEBHOOK_KIND = "webhook.deliver"
URL_FIELD = "webhook_url"
# The delivery rows are written inside the engine's transactions, where no settings are
# at hand; they get this ceiling and the worker's ``webhook_max_attempts`` decides
# below it (the last allowed failure is made final, see ``delivery.deliver``).
MAX_ATTEMPTS_CEILING = 100
EVENT_TYPES = {
    rules.COMPLETED: "job.completed",
    rules.COMPLETED_WITH_ERRORS: "job.completed_with_errors",
    rules.FAILED: "job.failed",
    rules.CANCELLED: "job.cancelled",
}


def validate_webhook_url(url: Any, field: str = URL_FIELD) -> str:
    """``url`` if it is an absolute http(s) URL; ValidationError naming ``field`` if not."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(f"{field} must be a URL", field)
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(f"{field} must be an absolute http or https URL: {url!r}", field)
    return url.strip()


def checked_spec(spec: JobSpec) -> JobSpec:
    """``spec`` with its webhook URL (the field, else the payload key) checked.

    A payload's ``webhook_url`` key moves to the field: the payload then holds only
    what the kind's schema describes.
    """
    payload = dict(spec.payload)
    in_payload = payload.pop(URL_FIELD, None)
    url = spec.webhook_url if spec.webhook_url is not None else in_payload
    if url is None:
        return spec
    return replace(spec, payload=payload, webhook_url=validate_webhook_url(url))


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
    """Insert a delivery job for every ended job that asked for a webhook.

    The engine's end hook: called inside the transaction that records the ends.
    """
    ended = {row["job_id"]: row for row in events if row.get("kind") != WEBHOOK_KIND}
    if not ended:
        return
    jobs = conn.execute(
        select(
            JOBS.c.id,
            JOBS.c.kind,
            JOBS.c.webhook_url,
            JOBS.c.result,
            JOBS.c.error,
            JOBS.c.parent_id,
            JOBS.c.owner_id,
        ).where(JOBS.c.id.in_(list(ended)), JOBS.c.webhook_url.is_not(None))
    ).all()
    rows = [_delivery_row(job, ended[job.id]) for job in jobs]
    if not rows:
        return
    created = conn.execute(
        insert(JOBS).returning(JOBS.c.id, JOBS.c.kind, JOBS.c.parent_id, JOBS.c.progress), rows
    ).all()
    add_events(conn, [event_row(row, rules.QUEUED, rows[0]["created_at"]) for row in created])
    notify(conn, JOBS_CHANNEL, "default")


def _delivery_row(job: Any, event: dict[str, Any]) -> dict[str, Any]:
    now = event["created_at"]
    return {
        "kind": WEBHOOK_KIND,
        "queue": "default",
        "status": rules.QUEUED,
        "payload": {
            "url": str(job.webhook_url),
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


def install(queue: JobQueue) -> None:
    """Wire webhooks to ``queue``: URLs checked at enqueue, deliveries queued at job ends."""
    queue.add_enqueue_hook(checked_spec)
    queue.on_job_end(schedule)
