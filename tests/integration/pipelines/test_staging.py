"""Staged provider output: a retry of the job finds it (through its checkpoint, or the
file's own record when the checkpoint was lost); the sweep removes only the folders of
jobs that ended or vanished."""

from __future__ import annotations

from typing import Any

import pytest

from castsmith.config import Settings
from castsmith.domain.errors import StorageUnavailable
from castsmith.domain.jobs import RetryPolicy
from castsmith.jobs.registry import JobContext
from castsmith.pipelines import _staging
from castsmith.pipelines._staging import staging_root, sweep_staging
from tests.harness import operator_container, running_app, wait_job


def test_sweep_removes_only_the_staged_output_of_ended_jobs(
    local_settings: Settings, database_url: str
) -> None:
    settings = local_settings.model_copy(update={"database_url": database_url})
    container = operator_container(settings)
    try:
        queued = container.queue.enqueue("tests.staged", {})
        cancelled = container.queue.enqueue("tests.staged", {})
        container.queue.cancel(cancelled.id)
        root = staging_root(settings)
        vanished = cancelled.id + 1000
        for job_id in (queued.id, cancelled.id, vanished):
            (root / str(job_id)).mkdir(parents=True)
            (root / str(job_id) / "training_jpeg.bin").write_bytes(b"staged")
        # Young folders are kept whatever their job says: it may not be committed yet.
        assert sweep_staging(container) == 0
        assert sweep_staging(container, grace=0) == 2
        assert [folder.name for folder in root.iterdir()] == [str(queued.id)]
    finally:
        container.close()


async def _stage_then_fail_once(ctx: JobContext) -> dict[str, Any]:
    """Stage on the first attempt and fail as if the store were down; store on the next."""
    staged = await _staging.restore(ctx.services, "out")
    if staged is None:
        await _staging.stage(ctx.services, b"image bytes", {"drawn_on": ctx.attempt}, "out")
        if ctx.payload.get("lose_checkpoint"):
            # As if the database had failed right after the file was written.
            await ctx.checkpoint({"staged.out": None})
        raise StorageUnavailable("could not store: store unreachable (test)")
    await _staging.discard(ctx.services, "out")
    return {"data": staged.data.decode(), **staged.facts, "attempt": ctx.attempt}


@pytest.mark.parametrize("lose_checkpoint", [False, True])
async def test_a_retry_finds_the_staged_output(
    local_settings: Settings, sqlite_database_url: str, lose_checkpoint: bool
) -> None:
    settings = local_settings.model_copy(update={"database_url": sqlite_database_url})
    fast = RetryPolicy(0.01, 0.02, infra_base=0.01, infra_cap=0.02)
    async with running_app(settings, retry_policy=fast) as env:
        env.container.registry.register("tests.staged", _stage_then_fail_once)
        job = env.queue.enqueue("tests.staged", {"lose_checkpoint": lose_checkpoint})
        done = await wait_job(env.container, job.id, timeout=20)
    assert done.status == "completed"
    assert done.result == {"data": "image bytes", "drawn_on": 1, "attempt": 2}
    assert list(staging_root(settings).rglob("*")) == []
