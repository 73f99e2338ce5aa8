"""``?webhook_url=`` and the ``Webhook-URL`` header on any route that creates jobs.

The request's URL becomes the explicit ``webhook_url`` of each top-level job the request
enqueues that has none of its own; children never inherit it (their parent's end is
what the caller asked to hear about).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import replace

from fastapi import FastAPI, Request, Response

from castsmith.jobs.queue import JobQueue
from castsmith.jobs.types import JobSpec
from castsmith.webhooks.scheduling import validate_webhook_url

requested_webhook_url: ContextVar[str | None] = ContextVar("requested_webhook_url", default=None)
"""The webhook URL the request being served asked for, if any."""


def from_request(spec: JobSpec) -> JobSpec:
    """``spec`` with the request's webhook URL when it is top-level and has none."""
    url = requested_webhook_url.get()
    if url is None or spec.parent_id is not None or spec.webhook_url is not None:
        return spec
    return replace(spec, webhook_url=validate_webhook_url(url))


def install(app: FastAPI, queue: JobQueue) -> None:
    """Read the request's webhook URL in a middleware and hand it to ``queue``'s enqueues."""
    queue.add_enqueue_hook(from_request)

    @app.middleware("http")
    async def webhook_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        url = request.query_params.get("webhook_url") or request.headers.get("webhook-url")
        if not url:
            return await call_next(request)
        token = requested_webhook_url.set(url)
        try:
            return await call_next(request)
        finally:
            requested_webhook_url.reset(token)
