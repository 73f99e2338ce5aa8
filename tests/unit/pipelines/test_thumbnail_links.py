"""Thumbnail links stay the same for a while, so browsers reuse the thumbnails they keep."""

from __future__ import annotations

import pytest

from castsmith.pipelines.thumbnails import steady_expiry


@pytest.mark.parametrize("lifetime", [3600, 3601, 600, 7, 2, 1])
def test_a_link_lives_between_half_and_all_of_its_lifetime(lifetime: int) -> None:
    start = 1_796_000_000
    for now in range(start, start + 3 * lifetime + 5):
        expires_in, signed_at = steady_expiry(lifetime, now + 0.75)
        assert signed_at == now
        assert lifetime // 2 <= expires_in <= lifetime, (now, expires_in)


def test_views_within_half_the_lifetime_get_the_same_link() -> None:
    lifetime, start = 3600, 1800 * 997_778  # a multiple of 1800: a new link starts here
    expiries = {sum(steady_expiry(lifetime, start + offset)) for offset in range(1800)}
    assert expiries == {start + 3600}
    assert sum(steady_expiry(lifetime, start + 1800)) == start + 5400
