"""``/costs``: the cost ledger's totals per provider, day, actor and persona task.

Server-rendered and read-only: the same totals ``GET /api/costs`` gives, each table one
grouping, narrowed by ``?since=`` (a date, a date-time, ``7d`` or ``24h``). An ordinary
user sees the calls of their own jobs only.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from castsmith.auth.scope import container_of
from castsmith.domain.errors import ValidationError
from castsmith.pipelines import costs
from castsmith.web.pages import templates

router = APIRouter(include_in_schema=False)

#: The tables of the page, in order: grouping and heading.
SECTIONS = (
    ("provider", "Provider"),
    ("day", "Day (UTC)"),
    ("actor", "Actor"),
    ("persona_task", "Persona task"),
)


@router.get("/costs", response_class=HTMLResponse)
async def costs_page(
    request: Request, since: Annotated[str | None, Query(max_length=40)] = None
) -> HTMLResponse:
    """What provider calls cost, by provider, day, actor and persona task."""
    services = container_of(request)
    error = None
    try:
        start = costs.parse_since(since)
    except ValidationError as exc:
        start, error = None, str(exc)

    def read() -> list[dict[str, Any]]:
        return [
            {
                "by": by,
                "title": title,
                "rows": [row.as_dict() for row in costs.totals_sync(services, by, start)],
            }
            for by, title in SECTIONS
        ]

    sections = await asyncio.to_thread(read)
    total = sum(row["cost"] for row in sections[0]["rows"])
    return templates.TemplateResponse(
        request,
        "costs.html",
        {
            "nav": "costs",
            "sections": sections,
            "since": since or "",
            "error": error,
            "total": total,
            "currency": costs.CURRENCY,
        },
    )
