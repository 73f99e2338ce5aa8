"""The S3 server stops while training images are made: retries store, they never redraw.

40 training images go through the fake Replicate server onto S3; the S3 server is
stopped for a window in the middle of the run, then started again. Jobs whose provider
answered during the window stage the image locally and retry only the storing, on the
infrastructure schedule (shortened here so the test stays fast): the run ends with 40
images, 40 provider calls, every asset row's object in the store, no pending row and no
staged file left.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Asset, JobRun, TrainingDataItem
from castsmith.domain.jobs import RetryPolicy
from castsmith.pipelines._staging import staging_root
from castsmith.pipelines.training import KIND_ONE
from tests.conftest import S3Server
from tests.fakes import FakeReplicate
from tests.harness import wait_job
from tests.integration.pipelines.test_training_support import actor_with_base, training_services

IMAGES = 40
PREDICTIONS = "/v1/models/black-forest-labs/flux-kontext-pro/predictions"
# Without staging, the pay-once remote id would spare the second creation but a retry
# would still follow the prediction and download its output again: both are counted.
# Short stand-ins for the minutes-long infrastructure schedule of production.
FAST_RETRIES = RetryPolicy(0.1, 0.5, infra_base=0.3, infra_cap=1.0, infra_attempts=60)
OUTAGE_SECONDS = 3.0


@pytest.fixture
def slow_replicate() -> Iterator[FakeReplicate]:
    """A fake Replicate whose every request takes a little while, so that provider calls
    are in flight (and answer) while the S3 server is down."""
    with FakeReplicate(latency=0.15) as fake:
        assert isinstance(fake, FakeReplicate)
        yield fake


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
async def test_an_s3_outage_retries_the_storing_not_the_generation(
    backend: str,
    request: pytest.FixtureRequest,
    s3_server: S3Server,
    s3_settings: Settings,
    slow_replicate: FakeReplicate,
) -> None:
    database_url = str(
        request.getfixturevalue(f"{'pg' if backend == 'postgres' else 'sqlite'}_database_url")
    )
    settings = s3_settings.model_copy(
        update={
            "database_url": database_url,
            "replicate_api_token": SecretStr(slow_replicate.token),
            "replicate_base_url": slow_replicate.url,
            "image_provider": "replicate",
            "job_infra_backoff_base": FAST_RETRIES.infra_base,
            "job_infra_backoff_cap": FAST_RETRIES.infra_cap,
            "job_infra_max_attempts": FAST_RETRIES.infra_attempts,
        }
    )
    async with training_services(
        settings, worker=True, concurrency=8, retry_policy=FAST_RETRIES
    ) as container:
        actor_id = await actor_with_base(container)
        jobs = [
            container.queue.enqueue(
                KIND_ONE,
                {"actor_id": actor_id, "prompt": f"training image {i}", "prompt_id": f"p{i}"},
                provider="replicate",
                label=f"p{i}",
            )
            for i in range(IMAGES)
        ]
        try:
            await _until(lambda: _stored(container) >= 5)
            s3_server.stop()
            stopped = time.monotonic()
            # Long enough that several jobs get their image and fail to store it.
            await _until(lambda: _store_failures(container) >= 8)
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
        finally:
            if s3_server._server is None:
                s3_server.start()
        views = [await wait_job(container, job.id, timeout=45) for job in jobs]
        assert {view.status for view in views} == {"completed"}

        # The outage did hit jobs after their provider answered, and none drew again.
        assert _store_failures(container) >= 8
        assert len(slow_replicate.calls_to(PREDICTIONS, "POST")) == IMAGES
        # Nor followed a paid prediction again to fetch its output a second time.
        assert slow_replicate.calls_to("/v1/predictions/") == []
        assert len(slow_replicate.calls_to("/files/", "GET")) == IMAGES
        with container.sessions() as session:
            statuses = list(session.scalars(select(TrainingDataItem.status)))
            keys = list(
                session.scalars(select(Asset.storage_key).where(Asset.kind == "training_image"))
            )
        assert sorted(statuses) == ["synced"] * IMAGES  # nothing pending left behind
        assert len(keys) == IMAGES
        for key in keys:
            assert await container.store.exists(key), key
        stored = {meta.key async for meta in container.store.list("system_actors/training_data")}
        assert stored == set(keys)  # and no object without its row
        leftovers = [p for p in staging_root(settings).rglob("*") if p.is_file()]
        assert leftovers == []


def _stored(container: Container) -> int:
    with container.sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(TrainingDataItem)
            .where(TrainingDataItem.status == "synced")
        )
    return int(count or 0)


def _store_failures(container: Container) -> int:
    """Attempts that ended retrying because the store was unreachable."""
    with container.sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(JobRun)
            .where(JobRun.outcome == "retrying", JobRun.error.contains("store unreachable"))
        )
    return int(count or 0)


async def _until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while not await asyncio.to_thread(check):
            await asyncio.sleep(0.05)
