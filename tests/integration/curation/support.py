"""Helpers for the curation tests: backends, an actor with a real base photograph, and
waiting for the check jobs (no tests of their own)."""

from __future__ import annotations

import asyncio
import time

import pytest

from castsmith.config import Settings
from castsmith.domain.access import OPERATOR
from castsmith.pipelines._checks import KIND_CHECK
from castsmith.pipelines.actors import set_base_image
from tests.harness import AppEnv
from tests.integration.pipelines.test_training_support import add_actor
from tests.photos import photo_bytes

NAME = "0031_american_50_male"


def backend_settings(request: pytest.FixtureRequest, which: str) -> Settings:
    """SQLite with the local folder, or PostgreSQL with the S3 server."""
    if which == "sqlite-local":
        base: Settings = request.getfixturevalue("local_settings")
        url = request.getfixturevalue("sqlite_database_url")
    else:
        base = request.getfixturevalue("s3_settings")
        url = request.getfixturevalue("pg_database_url")
    return base.model_copy(update={"database_url": url})


async def actor_with_photo(env: AppEnv, photo: str = "obama") -> int:
    """An actor whose base image is one of the test photographs."""
    actor_id = add_actor(env.container, NAME)
    await set_base_image(env.container, actor_id, photo_bytes(photo))
    return actor_id


async def checks_settled(env: AppEnv, timeout: float = 240.0) -> None:
    """Wait until no curation check job is queued or running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = []
        for status in ("queued", "running"):
            jobs, _ = await asyncio.to_thread(
                env.queue.list_jobs, OPERATOR, status=status, kind=KIND_CHECK
            )
            active += jobs
        if not active:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"curation checks still running after {timeout} s")
