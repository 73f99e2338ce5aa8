"""``GET /api/costs``: what provider calls cost, totalled by actor, persona task,
provider, day or job. Ordinary users see the calls of their own jobs only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from castsmith.api.schemas.common import MAX_ROW_ID, STRICT_ID
from castsmith.auth.scope import container_of
from castsmith.pipelines import costs

router = APIRouter(prefix="/api", tags=["costs"])


class CostRow(BaseModel):
    """One group's calls (by how they ended), billed seconds, images and cost."""

    key: str | None
    calls: int
    succeeded: int
    failed: int
    cancelled: int
    seconds: float
    images: int
    cost: float


class CostSum(BaseModel):
    """Every group together."""

    calls: int
    cost: float


class CostReport(BaseModel):
    """Totals per group, most expensive first, and the grand total."""

    by: str
    since: str | None
    currency: str
    rows: list[CostRow]
    total: CostSum


@router.get("/costs", response_model=CostReport)
async def cost_totals(
    request: Request,
    by: Annotated[
        str, Query(pattern="^(actor|provider|day|persona_task|job)$", description="Group by.")
    ] = "provider",
    since: Annotated[
        str | None,
        Query(max_length=40, description="Only calls since: 2026-12-01, a date-time, 7d, 24h."),
    ] = None,
    job_id: Annotated[
        # Ids have one spelling here too: ``0.0`` or ``+8`` is a 422, not a quiet filter.
        list[Annotated[int, STRICT_ID]] | None,
        Query(max_length=200, description="Only these jobs' calls (repeatable)."),
    ] = None,
) -> CostReport:
    """The cost ledger's totals (``key`` is the actor id, task id, provider, day or job)."""
    ids = [i for i in job_id or [] if 1 <= i <= MAX_ROW_ID]
    report = await costs.cost_report(container_of(request), by, since, ids)
    return CostReport.model_validate(report)
