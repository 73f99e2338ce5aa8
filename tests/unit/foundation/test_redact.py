"""Credentials written into URLs never reach what castsmith prints or stores."""

from __future__ import annotations

import pytest

from castsmith.domain.errors import ProviderUnavailable
from castsmith.domain.redact import mask_credentials


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://user:password@host/x", "http://user:***@host/x"),
        ("postgresql://app:pw@127.0.0.1:5432/db", "postgresql://app:***@127.0.0.1:5432/db"),
        ("https://tok123@github.com/a", "https://***@github.com/a"),
        ("failed at user:pw@10.0.0.1:8188 twice", "failed at user:***@10.0.0.1:8188 twice"),
        ("write to a@b.com", "write to a@b.com"),
        ("http://host/path@v2", "http://host/path@v2"),
        ("no url here", "no url here"),
    ],
)
def test_the_secret_part_of_user_info_is_masked(text: str, shown: str) -> None:
    assert mask_credentials(text) == shown


def test_error_messages_are_masked_where_they_are_made() -> None:
    error = ProviderUnavailable(
        "comfyui answered 502 at http://user:s3cret@comfy.internal:8188/prompt",
        provider="comfyui",
    )
    assert "s3cret" not in str(error)
    assert "http://user:***@comfy.internal:8188/prompt" in str(error)
