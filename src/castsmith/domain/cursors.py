"""Opaque cursors for keyset pagination: the id a page ended at, and what it lists.

A cursor is ``base64("{prefix}:{last_id}")`` without padding. The prefix keeps a
cursor of one listing from being used with another: handing a job cursor to the actor
listing is refused like any garbled cursor, with a ``ValidationError`` naming
``cursor``, never a crash or a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from castsmith.domain.errors import ValidationError

REFUSED = "cursor is not one this server made; use next_cursor from a page"

T = TypeVar("T")


@dataclass(frozen=True)
class Cursors:
    """Cursors of one listing, told apart from other listings' by ``prefix``."""

    prefix: str

    def encode(self, last_id: int) -> str:
        """The cursor of the page after the row with id ``last_id``."""
        return base64.urlsafe_b64encode(f"{self.prefix}:{last_id}".encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> int:
        """The id ``cursor`` points after; ``ValidationError`` naming ``cursor``."""
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            text = base64.urlsafe_b64decode(padded.encode()).decode()
            prefix, _, number = text.partition(":")
            if prefix != self.prefix:
                raise ValueError(prefix)
            return int(number)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ValidationError(REFUSED, "cursor") from None

    def after(self, cursor: str | None) -> int | None:
        """Like :meth:`decode`; no cursor (``None`` or ``""``) is the first page."""
        return self.decode(cursor) if cursor else None

    def page(
        self, rows: Sequence[T], limit: int, id_of: Callable[[T], int]
    ) -> tuple[list[T], str | None]:
        """The first ``limit`` of ``rows`` and the cursor of the page after them.

        ``rows`` are read with ``limit + 1``: the extra row only shows that another page
        follows, so a listing that ends exactly at ``limit`` offers no empty next page.
        """
        items = list(rows[:limit])
        more = len(rows) > limit and bool(items)
        return items, self.encode(id_of(items[-1])) if more else None
