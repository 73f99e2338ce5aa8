"""Orphan cleanup on the local and S3 stores: only unreferenced, old-enough objects go."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from castsmith.bootstrap import Container
from castsmith.cli import app
from castsmith.config import Settings
from castsmith.db.engine import make_engine
from castsmith.db.migrate import upgrade
from castsmith.db.models import AssetRendition
from castsmith.pipelines._assets import FileFacts, asset_row
from castsmith.pipelines._writer import store_asset
from castsmith.pipelines.cleanup import TASK_NAME, cleanup_orphans
from tests.harness import operator_container


@pytest.fixture(params=["local", "s3"])
def container(request: pytest.FixtureRequest, sqlite_database_url: str) -> Iterator[Container]:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    settings = settings.model_copy(update={"database_url": sqlite_database_url})
    built = operator_container(settings)
    yield built
    built.close()


async def _seed(container: Container) -> None:
    asset = await store_asset(
        container, "actors/ada/poster_frame/v1.png", b"source", is_image=False
    )
    await container.store.put(
        "actors/ada/poster_frame/v1_sm.webp", b"small", content_type="image/webp"
    )
    with container.sessions.begin() as session:
        session.add(
            AssetRendition(
                asset_id=asset.id,
                name="sm",
                storage_key="actors/ada/poster_frame/v1_sm.webp",
                content_type="image/webp",
                size_bytes=5,
                width=1,
                height=1,
                md5="0" * 32,
            )
        )
    # Left behind by a worker that died between upload and insert:
    await container.store.put("actors/ada/poster_frame/v2.png", b"orphan", content_type="image/png")
    await container.store.put("avatars/task_x/persona_1/base.png", b"o2", content_type="image/png")
    # Recorded only in the store, never a cleanup candidate:
    await container.store.put("videos/job1/clip.mp4", b"video", content_type="video/mp4")


async def _keys(container: Container) -> set[str]:
    return {meta.key async for meta in container.store.list("")}


async def test_cleanup_removes_only_old_unreferenced_objects(container: Container) -> None:
    await _seed(container)
    later = datetime.now(UTC) + timedelta(hours=2)

    young = await cleanup_orphans(container, grace_seconds=3600)
    assert young.removed == [] and young.too_young == 2

    dry = await cleanup_orphans(container, dry_run=True, grace_seconds=3600, now=later)
    assert [m.key for m in dry.orphans] == [
        "actors/ada/poster_frame/v2.png",
        "avatars/task_x/persona_1/base.png",
    ]
    assert dry.removed == []
    assert len(await _keys(container)) == 5

    done = await cleanup_orphans(container, grace_seconds=3600, now=later)
    assert sorted(done.removed) == [m.key for m in dry.orphans]
    assert await _keys(container) == {
        "actors/ada/poster_frame/v1.png",
        "actors/ada/poster_frame/v1_sm.webp",
        "videos/job1/clip.mp4",
    }
    assert done.referenced == 2 and done.kept_by_prefix == 1


async def test_a_row_written_during_the_scan_protects_its_object(container: Container) -> None:
    await container.store.put(
        "system_actors/base_images/bo_base.jpg", b"x", content_type="image/jpeg"
    )
    later = datetime.now(UTC) + timedelta(hours=2)
    found = await cleanup_orphans(container, dry_run=True, grace_seconds=0, now=later)
    assert [m.key for m in found.orphans] == ["system_actors/base_images/bo_base.jpg"]
    # The row lands after the listing but before the deletion: the re-check keeps it.
    from castsmith.pipelines import cleanup as module

    real = module.find_orphans

    async def racing(*args: object, **kwargs: object) -> module.CleanupReport:
        report = await real(*args, **kwargs)  # type: ignore[arg-type]
        # What a writer's recording transaction does for the object it uploaded.
        key = "system_actors/base_images/bo_base.jpg"
        with container.sessions.begin() as session:
            session.add(asset_row(key, FileFacts.of_bytes(b"x", "image/jpeg"), "base_image"))
        return report

    module.find_orphans = racing  # type: ignore[assignment]
    try:
        done = await cleanup_orphans(container, grace_seconds=0, now=later)
    finally:
        module.find_orphans = real  # type: ignore[assignment]
    assert done.removed == []
    assert await container.store.exists("system_actors/base_images/bo_base.jpg")


def test_cli_dry_run_prints_what_would_go(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'castsmith.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    orphan = tmp_path / "storage" / "actors" / "zed" / "poster_frame" / "old.png"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"orphan")
    runner = CliRunner()
    args = ["--database-url", url, "--data-dir", str(tmp_path), "cleanup"]
    shown = runner.invoke(app, [*args, "--dry-run", "--grace", "0"])
    assert shown.exit_code == 0, shown.output
    assert "would remove  actors/zed/poster_frame/old.png" in shown.output
    assert orphan.exists()
    kept = runner.invoke(app, [*args, "--grace", "3600"])
    assert "0 orphaned object(s) removed" in kept.output and orphan.exists()
    gone = runner.invoke(app, [*args, "--grace", "0"])
    assert gone.exit_code == 0 and not orphan.exists()


def test_cleanup_is_a_registered_periodic_task(local_settings: Settings) -> None:
    from castsmith.jobs.runner import make_worker

    built = operator_container(local_settings.model_copy(update={"cleanup_period_seconds": 60.0}))
    worker = make_worker(built.queue, built.registry, built.settings, built)
    tasks = {task.name: task.period for task in worker.periodic}
    assert tasks[TASK_NAME] == 60.0
    built.close()
