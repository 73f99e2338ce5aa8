"""Reading and writing the cost ledger (:class:`~castsmith.db.models_costs.ProviderCall`).

Totals group by actor, persona task, provider, day or job and narrow to the caller's own
rows the way every owned listing does (:func:`castsmith.domain.access.owner_scope`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from castsmith.db.models_costs import ProviderCall
from castsmith.db.owned import owned_by
from castsmith.domain.access import Principal
from castsmith.domain.errors import ValidationError

#: What ``by`` may name, and the column each groups on.
GROUPS = ("provider", "actor", "persona_task", "day", "job")


@dataclass(frozen=True)
class CostTotal:
    """The calls of one group (``key``) and what they cost, by how they ended."""

    key: str | None
    calls: int
    succeeded: int
    failed: int
    cancelled: int
    seconds: float
    images: int
    cost: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, the cost rounded to the micro-dollar."""
        return {
            "key": self.key,
            "calls": self.calls,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 3),
            "images": self.images,
            "cost": round(self.cost, 6),
        }


class CostRepository:
    """The ledger's rows and totals within a session."""

    def __init__(self, session: Session, caller: Principal) -> None:
        self.session = session
        # Whom every read and write here is done for: owned rows are narrowed to it.
        self.caller = caller

    def add(self, **values: Any) -> ProviderCall:
        """Record one provider call."""
        row = ProviderCall(**values)
        self.session.add(row)
        self.session.flush()
        return row

    def recent(self, provider: str, limit: int) -> list[ProviderCall]:
        """The provider's latest calls, newest first, everyone's: the circuit breaker
        judges a provider by all the cluster's calls, not the caller's."""
        query = select(ProviderCall).where(ProviderCall.provider == provider)
        return list(self.session.scalars(query.order_by(ProviderCall.id.desc()).limit(limit)))

    def providers_of(self, job_ids: Sequence[int]) -> dict[int, list[str]]:
        """Each job's providers in the order it called them (a failover shows as two)."""
        query: Any = select(ProviderCall.job_id, ProviderCall.provider).where(
            ProviderCall.job_id.in_(list(job_ids))
        )
        found: dict[int, list[str]] = {}
        rows = self.session.execute(self._scoped(query).order_by(ProviderCall.id)).all()
        for job_id, provider in rows:
            names = found.setdefault(int(job_id), [])
            if provider not in names:
                names.append(provider)
        return found

    def calls(self, job_id: int) -> list[ProviderCall]:
        """A job's calls, oldest first (the caller's own rows only)."""
        query = select(ProviderCall).where(ProviderCall.job_id == job_id)
        return list(self.session.scalars(self._scoped(query).order_by(ProviderCall.id)))

    def totals(
        self,
        by: str = "provider",
        since: datetime | None = None,
        job_ids: Sequence[int] = (),
    ) -> list[CostTotal]:
        """Totals per group, most expensive first; ``since`` and ``job_ids`` narrow."""
        if by not in GROUPS:
            raise ValidationError(f"by must be one of {', '.join(GROUPS)}", "by")
        key: Any = {
            "provider": ProviderCall.provider,
            "actor": ProviderCall.actor_id,
            "persona_task": ProviderCall.persona_task_id,
            "job": ProviderCall.job_id,
            "day": self._day(),
        }[by]

        def count(status: str) -> Any:
            return func.sum(case((ProviderCall.status == status, 1), else_=0))

        query = select(
            key.label("key"),
            func.count(ProviderCall.id),
            count("succeeded"),
            count("failed"),
            count("cancelled"),
            func.coalesce(func.sum(ProviderCall.seconds), 0.0),
            func.coalesce(func.sum(ProviderCall.images), 0),
            func.coalesce(func.sum(ProviderCall.cost), 0.0),
        ).group_by(key)
        if since is not None:
            query = query.where(ProviderCall.created_at >= since)
        if job_ids:
            query = query.where(ProviderCall.job_id.in_(list(job_ids)))
        rows = self.session.execute(self._scoped(query)).all()
        totals = [
            CostTotal(
                None if r[0] is None else str(r[0]),
                int(r[1]),
                int(r[2] or 0),
                int(r[3] or 0),
                int(r[4] or 0),
                float(r[5] or 0),
                int(r[6] or 0),
                float(r[7] or 0),
            )
            for r in rows
        ]
        return sorted(totals, key=lambda t: (-t.cost, t.key or ""))

    def _day(self) -> Any:
        """The UTC day of ``created_at`` as ``YYYY-MM-DD`` text, on either database."""
        if self.session.get_bind().dialect.name == "postgresql":
            # Not a cast to text: that would follow the session's time zone.
            utc = func.timezone("UTC", ProviderCall.created_at)
            return func.to_char(utc, "YYYY-MM-DD")
        # SQLite keeps the UTC timestamp as ISO text.
        return func.substr(ProviderCall.created_at, 1, 10)

    def _scoped(self, query: Select[Any]) -> Select[Any]:
        return query.where(*owned_by(ProviderCall.owner_id, self.caller))
