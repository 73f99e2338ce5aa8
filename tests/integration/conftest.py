"""Fixtures shared by the integration tests of several rooms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes import FakeReplicate


@pytest.fixture
def replicate() -> Iterator[FakeReplicate]:
    """A fake Replicate server on loopback (its ``token`` is the one it accepts)."""
    with FakeReplicate() as fake:
        assert isinstance(fake, FakeReplicate)
        yield fake
