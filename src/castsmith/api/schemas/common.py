"""Types shared by the HTTP models: row ids within range, timestamps with a zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator, Field

# Ids are 64-bit integers in both databases; a bigger number cannot name a row, and
# passing it on would make the database driver fail instead of answering 404.
MAX_ROW_ID = 2**63 - 1


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; castsmith stores UTC, so say so on the way out.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
"""A timestamp shown as RFC 3339 with its zone (naive values are UTC)."""

_DIGITS = re.compile(r"[0-9]{1,19}")
ID_RULE = "must be a whole number written in digits, like 42"


def parse_row_id(value: object) -> object:
    """Accept an id only as digits (path, query) or a JSON integer (body).

    Pydantic's lax mode reads ``"8.0"``, ``8.0`` and ``" 8"`` as 8; an id has one
    spelling, so anything else is refused here and answers 422.
    """
    if isinstance(value, str):
        if _DIGITS.fullmatch(value) is None:
            raise ValueError(ID_RULE)
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(ID_RULE)
    return value


_STRICT = BeforeValidator(parse_row_id)

RowId = Annotated[
    int, Path(ge=1, le=MAX_ROW_ID, description="A row id (a positive integer)."), _STRICT
]
"""A path parameter naming a row by its integer id."""


def _json_row_id(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer id, like 42")
    return value


RowIdField = Annotated[int, Field(ge=1, le=MAX_ROW_ID), BeforeValidator(_json_row_id)]
"""A row id inside a JSON body: a JSON integer, not ``8.0`` nor ``"8"``."""


STRICT_ID = _STRICT
"""Put beside ``Query(ge=1, le=MAX_ROW_ID, ...)`` to make a query id as strict as a path id."""

RowIdQuery = Annotated[
    int | None, Query(ge=1, le=MAX_ROW_ID, description="A row id (a positive integer)."), _STRICT
]
"""An optional query parameter naming a row by its id (default ``None``)."""


# Length limits of free text: names and short labels, descriptions and prompts, URLs.
NAME_MAX = 100
TEXT_MAX = 2000
URL_MAX = 2048
