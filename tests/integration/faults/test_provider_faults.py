"""A provider that fails: 500s, 429s, garbage and slow answers are retried, then end in a
clear failure; an expired output URL is a clear failure the user can retry; an output
URL pointing inside the network is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Asset, JobRun
from castsmith.domain.jobs import RetryPolicy
from castsmith.pipelines.training import GenerateOptions, enqueue_generate_one
from tests.fakes import FakeReplicate
from tests.harness import wait_job
from tests.integration.pipelines.test_training_support import (
    actor_with_base,
    on_replicate,
    training_services,
)

CREATE = "/v1/models/"
# An in-process worker whose retries come quickly.
FAST_RETRIES: dict[str, Any] = {
    "worker": True,
    "concurrency": 2,
    "retry_policy": RetryPolicy(0.05, 0.1),
}


@pytest.fixture
async def services(
    local_settings: Settings, sqlite_database_url: str, replicate: FakeReplicate
) -> AsyncIterator[Container]:
    settings = on_replicate(
        local_settings,
        replicate,
        database_url=sqlite_database_url,
        provider_timeout=1.0,
        job_max_attempts=3,
    )
    async with training_services(settings, **FAST_RETRIES) as container:
        yield container


async def _one(services: Container) -> Any:
    actor_id = await actor_with_base(services)
    job = await enqueue_generate_one(services, actor_id, "a portrait", GenerateOptions())
    return await wait_job(services, job.id, timeout=60)


def _runs(services: Container, job_id: int) -> list[str]:
    with services.sessions() as session:
        return list(
            session.scalars(
                select(JobRun.outcome).where(JobRun.job_id == job_id).order_by(JobRun.id)
            )
        )


def _assets(services: Container) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Asset)) or 0)


@pytest.mark.parametrize(
    ("path", "answer", "message"),
    [
        (CREATE, {"status": 500, "json": {"detail": "boom"}}, "server error (HTTP 500)"),
        (
            CREATE,
            {"status": 429, "json": {"detail": "slow down"}, "headers": {"Retry-After": "0"}},
            "rate limiting",
        ),
        (CREATE, {"status": 201, "body": b"<html>not json"}, "malformed response"),
        ("/files/", {"passthrough": True, "delay": 1.5}, "timed out after 1 s"),
    ],
    ids=["http-500", "http-429", "garbage", "slow"],
)
async def test_failing_provider_is_retried_then_fails_clearly(
    services: Container,
    replicate: FakeReplicate,
    path: str,
    answer: dict[str, Any],
    message: str,
) -> None:
    replicate.script(path, times=10, **answer)
    done = await _one(services)
    assert done.status == "failed"
    assert message in (done.error or "")
    assert _runs(services, done.id) == ["retrying", "retrying", "failed"]
    assert _assets(services) == 1  # only the actor's base image


async def test_a_transient_failure_recovers(services: Container, replicate: FakeReplicate) -> None:
    replicate.script(CREATE, method="POST", times=2, status=503, json={"detail": "busy"})
    done = await _one(services)
    assert done.status == "completed", done.error
    assert _runs(services, done.id) == ["retrying", "retrying", "succeeded"]


async def test_expired_output_url_fails_clearly_and_can_be_retried(
    services: Container, replicate: FakeReplicate
) -> None:
    replicate.expire_files(403)
    done = await _one(services)
    assert done.status == "failed"
    assert "no longer available" in (done.error or "")
    assert "generate it again" in (done.error or "")
    assert _runs(services, done.id) == ["failed"]  # permanent: not retried blindly
    replicate.files_expired_status = None
    services.queue.retry(done.id)
    again = await wait_job(services, done.id)
    assert again.status == "completed", again.error


async def test_garbage_output_bytes_are_not_stored(
    services: Container, replicate: FakeReplicate
) -> None:
    replicate.script("/files/", times=10, status=200, body=b"<html>login page</html>")
    done = await _one(services)
    assert done.status == "failed"
    assert "is not an image" in (done.error or "")
    assert _assets(services) == 1


async def test_output_url_inside_the_network_is_refused(
    local_settings: Settings, sqlite_database_url: str, replicate: FakeReplicate
) -> None:
    # The provider is reached by name, so its outputs on 127.0.0.1 are not trusted.
    settings = on_replicate(
        local_settings,
        replicate,
        database_url=sqlite_database_url,
        replicate_base_url=replicate.url.replace("127.0.0.1", "localhost"),
    )
    async with training_services(settings, **FAST_RETRIES) as services:
        done = await _one(services)
    assert done.status == "failed"
    assert "private or reserved address" in (done.error or "")
