"""Poster test helpers on top of :mod:`tests.harness` (no tests of its own).

The API and remote-provider poster tests import from it.
"""

from __future__ import annotations

import io
from contextlib import AbstractAsyncContextManager

from PIL import Image

from castsmith.config import Settings
from tests.harness import DESCRIPTION, AppEnv, running_app

__all__ = ["DESCRIPTION", "SEED_SIZES", "poster_env", "webp_size"]

SEED_SIZES = {"webp_sm": 256, "webp_md": 512, "webp_lg": 1024}


def webp_size(data: bytes) -> tuple[int, int]:
    """Width and height of WebP bytes (and check that they are WebP)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def poster_env(settings: Settings) -> AbstractAsyncContextManager[AppEnv]:
    """The app on ``settings`` with a worker running up to four poster jobs at once."""
    return running_app(settings, concurrency=4)
