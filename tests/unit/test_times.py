"""Naive datetimes (as SQLite and some stores hand them back) are read as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from castsmith.api.schemas.common import UtcDateTime
from castsmith.domain.times import as_utc
from castsmith.jobs.types import JobView


def test_naive_is_utc_and_aware_stays_as_it_is() -> None:
    naive = datetime(2026, 12, 7, 15, 0)
    assert as_utc(naive) == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    berlin = datetime(2026, 12, 7, 16, 0, tzinfo=timezone(timedelta(hours=1)))
    assert as_utc(berlin) is berlin
    assert as_utc(None) is None


def test_the_api_and_the_engine_use_the_same_rule() -> None:
    from pydantic import TypeAdapter

    shown = TypeAdapter(UtcDateTime).validate_python(datetime(2026, 1, 2, 3, 4))
    assert shown.isoformat() == "2026-01-02T03:04:00+00:00"
    fields = {name: None for name in JobView.__dataclass_fields__}
    row = {**fields, "created_at": datetime(2026, 1, 2, 3, 4), "payload": {}, "error_log": []}
    assert JobView.from_row(row).created_at == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
