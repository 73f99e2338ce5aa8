"""Types shared by the HTTP models: row ids within range, timestamps with a zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field

# Ids are 64-bit integers in both databases; a bigger number cannot name a row, and
# passing it on would make the database driver fail instead of answering 404.
MAX_ROW_ID = 2**63 - 1


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; castsmith stores UTC, so say so on the way out.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
"""A timestamp shown as RFC 3339 with its zone (naive values are UTC)."""

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id (a positive integer).")]
"""A path parameter naming a row by its integer id."""

RowIdField = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
"""A row id inside a JSON body or a query string."""

# Length limits of free text: names and short labels, descriptions and prompts, URLs.
NAME_MAX = 100
TEXT_MAX = 2000
URL_MAX = 2048
