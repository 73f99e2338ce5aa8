"""Row ids: one spelling, one range, whatever the way they arrive."""

from __future__ import annotations

import re

# Ids are 64-bit integers in both databases; a bigger number cannot name a row, and
# passing it on would make the database driver fail instead of answering 404.
MAX_ROW_ID = 2**63 - 1
ID_RULE = "must be a whole number written in digits, like 42"
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_row_id(value: object) -> object:
    """Accept an id only as digits (path, query, header) or as an integer.

    Pydantic's lax mode reads ``"8.0"``, ``8.0`` and ``" 8"`` as 8; an id has one
    spelling, so anything else raises ``ValueError`` (a 422 at the HTTP edge). The
    range is checked by the caller's bounds.
    """
    if isinstance(value, str):
        if _DIGITS.fullmatch(value) is None:
            raise ValueError(ID_RULE)
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(ID_RULE)
    return value
