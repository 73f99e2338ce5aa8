"""Types shared by the HTTP models: row ids within range, timestamps with a zone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator, Field

from castsmith.domain.ids import MAX_ROW_ID as MAX_ROW_ID
from castsmith.domain.ids import parse_row_id as parse_row_id
from castsmith.domain.times import as_utc

UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
"""A timestamp shown as RFC 3339 with its zone (naive values are UTC)."""

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
