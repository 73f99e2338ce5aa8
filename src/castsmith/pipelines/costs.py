"""Reading the cost ledger: totals by actor, persona task, provider, day or job.

The rows are written by :mod:`castsmith.pipelines._ledger` as provider calls end; this
is what the API, the command line and the web pages ask of them. Each caller sees
only the calls of its own jobs unless it is an admin or the operator.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from castsmith.db.repositories.costs import GROUPS, CostRepository, CostTotal
from castsmith.domain.errors import ValidationError
from castsmith.domain.times import as_utc
from castsmith.pipelines._services import Services

CURRENCY = "USD"
_RELATIVE = re.compile(r"^(\d{1,5})([dh])$")


def parse_since(value: str | datetime | None, now: datetime | None = None) -> datetime | None:
    """``since`` as a UTC time: an ISO date or date-time, or ``7d`` / ``24h`` ago."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    relative = _RELATIVE.match(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        delta = timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
        return (now or datetime.now(UTC)) - delta
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            f"since must be a date (2026-12-01), a date-time or 7d/24h; got {value!r}", "since"
        ) from None
    return as_utc(parsed)


def totals_sync(
    services: Services,
    by: str = "provider",
    since: datetime | None = None,
    job_ids: Sequence[int] = (),
) -> list[CostTotal]:
    """The totals (blocking; call from a thread in async code)."""
    if by not in GROUPS:
        raise ValidationError(f"by must be one of {', '.join(GROUPS)}; got {by!r}", "by")
    with services.sessions() as session:
        return CostRepository(session, services.caller).totals(by, since, job_ids)


async def cost_report(
    services: Services,
    by: str = "provider",
    since: str | datetime | None = None,
    job_ids: Sequence[int] = (),
) -> dict[str, Any]:
    """Totals per group plus the grand total, JSON-ready."""
    start = parse_since(since)
    rows = await asyncio.to_thread(totals_sync, services, by, start, job_ids)
    return {
        "by": by,
        "since": start.isoformat() if start else None,
        "currency": CURRENCY,
        "rows": [row.as_dict() for row in rows],
        "total": {
            "calls": sum(r.calls for r in rows),
            "cost": round(float(sum(r.cost for r in rows)), 6),
        },
    }


def job_costs_sync(services: Services, job_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each listed job's calls, cost and providers in the order it called them (jobs
    without calls are left out)."""
    if not job_ids:
        return {}
    rows = totals_sync(services, "job", None, job_ids)
    with services.sessions() as session:
        # More than one provider for a job means it failed over (see _failover).
        providers = CostRepository(session, services.caller).providers_of(job_ids)
    return {
        int(row.key): {**row.as_dict(), "providers": providers.get(int(row.key), [])}
        for row in rows
        if row.key is not None
    }
