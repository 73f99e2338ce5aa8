"""The one cursor helper behind every keyset listing (actors, jobs, persona tasks)."""

from __future__ import annotations

import pytest

from castsmith.db.repositories.personas import TASK_CURSORS
from castsmith.domain.actors import ACTOR_CURSORS
from castsmith.domain.cursors import Cursors
from castsmith.domain.errors import ValidationError
from castsmith.jobs.queue import JOB_CURSORS


@pytest.mark.parametrize("cursors", [ACTOR_CURSORS, JOB_CURSORS, TASK_CURSORS])
def test_each_listing_reads_back_its_own_cursors(cursors: Cursors) -> None:
    assert cursors.decode(cursors.encode(1234)) == 1234
    assert cursors.after(None) is None and cursors.after("") is None
    assert "=" not in cursors.encode(7)  # no padding in a query string


def test_a_cursor_of_another_listing_or_garbage_is_refused_naming_the_field() -> None:
    foreign = JOB_CURSORS.encode(5)
    for cursors, cursor in (
        (ACTOR_CURSORS, foreign),
        (TASK_CURSORS, "not-a-cursor"),
        (JOB_CURSORS, "é"),
    ):
        with pytest.raises(ValidationError) as caught:
            cursors.decode(cursor)
        assert caught.value.field == "cursor"
        assert "next_cursor" in str(caught.value)
