"""``?webhook_url=`` and the ``Webhook-URL`` header on the routes that create jobs.

A route that queues a job takes :data:`RequestedWebhook` and hands the URL to its use
case, which passes it to the engine as the job's explicit ``webhook_url`` field: only
that top-level job gets it (its children never do; their parent's end is what the
caller asked to hear about). Nothing is carried in a context variable.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from castsmith.webhooks.scheduling import validate_webhook_url


def requested_webhook(request: Request) -> str | None:
    """The request's webhook URL (query first, then header); a bad one is a 422.

    Read from the request rather than declared as parameters, so the OpenAPI of every
    job route does not grow two optional fields that most callers never use.
    """
    url = request.query_params.get("webhook_url") or request.headers.get("webhook-url")
    return validate_webhook_url(url) if url else None


RequestedWebhook = Annotated[str | None, Depends(requested_webhook)]
"""A route parameter: the webhook URL the caller asked for, or ``None``."""
