"""A worker killed (SIGKILL) while a poster job uploads: the job finishes exactly once,
on another worker, and what is recorded is complete and consistent.

The S3 server sits behind a proxy that slows every PUT, so the kill lands in the
upload step. Objects the killed attempt did upload, without rows, are allowed right
after the kill: the periodic orphan cleanup removes them (and the attempt's version
reservation) once they are older than its grace period, which the test then checks.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from castsmith.config import Settings
from castsmith.db.models import Actor, Asset, AssetRendition
from castsmith.pipelines.cleanup import cleanup_orphans
from castsmith.pipelines.posters import KIND_GENERATE
from tests.conftest import S3_TEST_KEY, S3_TEST_REGION, S3_TEST_SECRET, S3Server
from tests.harness import operator_container
from tests.integration.faults.processes import log_tail, start_worker
from tests.integration.faults.slow_proxy import SlowPutProxy
from tests.integration.jobs.helpers import stop_processes, until

pytestmark = pytest.mark.slow

PUT_DELAY = 1.5


def _worker_env(settings: Settings, endpoint: str) -> dict[str, str]:
    return {
        "CASTSMITH_STORAGE_BACKEND": "s3",
        "CASTSMITH_S3_BUCKET": settings.s3_bucket,
        "CASTSMITH_S3_ENDPOINT": endpoint,
        "CASTSMITH_S3_REGION": S3_TEST_REGION,
        "CASTSMITH_S3_ACCESS_KEY": S3_TEST_KEY,
        "CASTSMITH_S3_SECRET_KEY": S3_TEST_SECRET,
        "CASTSMITH_S3_ADDRESSING": "path",
        "CASTSMITH_S3_ALLOW_HTTP": "true",
        "CASTSMITH_POSTER_PROVIDER": "offline",
        "CASTSMITH_JOB_LEASE_SECONDS": "2",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


async def test_worker_killed_during_upload(
    database_url: str, s3_server: S3Server, s3_settings: Settings, tmp_path: Path
) -> None:
    settings = s3_settings.model_copy(update={"database_url": database_url})
    container = operator_container(settings)
    with container.sessions.begin() as session:
        actor = Actor(name="Kill Test", description="a woman with red hair in a rain coat")
        session.add(actor)
        session.flush()
        actor_id = actor.id
    job = container.queue.enqueue(KIND_GENERATE, {"actor_id": actor_id, "overrides": {}})
    proxy = SlowPutProxy(s3_server.port, PUT_DELAY)
    env = _worker_env(settings, proxy.endpoint)
    first = start_worker(database_url, tmp_path, "first", 1, env)
    second = None
    try:
        try:
            await until(lambda: container.queue.get(job.id).progress_message == "uploading", 30)
        except AssertionError:
            view = container.queue.get(job.id)
            raise AssertionError(f"{view}\n{log_tail(tmp_path, 'first')}") from None
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert container.queue.get(job.id).status == "running"  # killed mid-upload
        second = start_worker(database_url, tmp_path, "second", 1, env)
        try:
            await until(lambda: container.queue.get(job.id).status == "completed", 60)
        except AssertionError:
            logs = log_tail(tmp_path, "first") + log_tail(tmp_path, "second")
            raise AssertionError(f"{container.queue.get(job.id)}\n{logs}") from None
    finally:
        stop_processes([p for p in (first, second) if p is not None])
        proxy.close()

    runs = container.queue.runs(job.id)
    assert sorted(run.outcome for run in runs) == ["lost", "succeeded"]
    result = container.queue.get(job.id).result or {}
    assert result["success"] is True
    saved = _rows(container)
    current = [row for row in saved if row["visible"]]
    # The saved version: its source and three renditions, each object complete.
    assert len(current) == 4
    objects = _objects(s3_server, settings.s3_bucket)
    for row in current:
        assert objects.get(row["key"]) == (row["size"], row["md5"]), row["key"]

    # What the killed attempt left: at most a hidden reservation and unreferenced
    # objects. The cleanup (grace 0 here) takes both away and nothing else.
    report = await cleanup_orphans(container, grace_seconds=0)
    after = _rows(container)
    assert after == current, "the cleanup touched recorded assets or left a reservation"
    objects = _objects(s3_server, settings.s3_bucket)
    assert set(objects) == {row["key"] for row in current}, report.removed
    for row in after:
        assert objects[row["key"]] == (row["size"], row["md5"])
    container.close()


def _rows(container: Any) -> list[dict[str, Any]]:
    """Every row naming an object: assets (visible or hidden) and renditions."""
    with container.sessions() as session:
        assets = [
            {
                "key": a.storage_key,
                "size": a.size_bytes,
                "md5": a.md5,
                "visible": a.deleted_at is None,
            }
            for a in session.scalars(select(Asset))
        ]
        renditions = [
            {"key": r.storage_key, "size": r.size_bytes, "md5": r.md5, "visible": True}
            for r in session.scalars(select(AssetRendition))
        ]
    return sorted(assets + renditions, key=lambda row: str(row["key"]))


def _objects(s3_server: S3Server, bucket: str) -> dict[str, tuple[int, str]]:
    """Every object in the bucket: key -> (size, md5), straight from the S3 server."""
    client: Any = s3_server.boto_client()
    found: dict[str, tuple[int, str]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = (item["Size"], item["ETag"].strip('"'))
    return found


async def test_cleanup_keeps_reservations_younger_than_its_grace(
    local_settings: Settings, sqlite_database_url: str
) -> None:
    settings = local_settings.model_copy(update={"database_url": sqlite_database_url})
    container = operator_container(settings)
    with container.sessions.begin() as session:
        session.add(
            Asset(
                storage_key="actors/A/poster_frame/v1/A_poster_source.png",
                kind="poster_frame",
                content_type="image/png",
                size_bytes=1,
                md5="0" * 32,
                sha256="0" * 64,
                deleted_at=datetime.now(UTC),
            )
        )
    await cleanup_orphans(container)  # default grace: a save may still be under way
    assert len(_rows(container)) == 1
    await cleanup_orphans(container, grace_seconds=0)
    assert _rows(container) == []
    container.close()
