"""Times are UTC: one rule for a datetime that came back without a zone.

castsmith writes every timestamp in UTC. SQLite (and some object stores and HTTP
dates) hand them back naive; :func:`as_utc` says what they are, so comparisons with
aware times work and the API shows them with their zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def as_utc(value: datetime) -> datetime: ...


@overload
def as_utc(value: None) -> None: ...


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` with UTC as its zone when it has none; aware values and ``None`` as given."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
