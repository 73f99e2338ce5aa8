"""A keyset page: the first ``limit`` rows of ``limit + 1``, and a cursor only when more follow."""

from __future__ import annotations

from castsmith.domain.cursors import Cursors

PAGES = Cursors("t")


def test_a_page_with_more_behind_it_points_after_its_last_row() -> None:
    items, cursor = PAGES.page([30, 20, 10], 2, lambda row: row)
    assert items == [30, 20]
    assert cursor is not None and PAGES.decode(cursor) == 20


def test_the_last_page_has_no_next_cursor_even_when_it_is_full() -> None:
    assert PAGES.page([30, 20], 2, lambda row: row) == ([30, 20], None)
    assert PAGES.page([30], 2, lambda row: row) == ([30], None)
    assert PAGES.page([], 2, lambda row: row) == ([], None)
