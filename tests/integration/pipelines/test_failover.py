"""Failover between providers and the circuit breaker, on SQLite and PostgreSQL.

References on the fake Replicate fail over to the offline provider when Replicate
answers 503, never on a 422; after ``breaker_failures`` such failures Replicate is
skipped until the cool-down has passed, then probed again. A RunPod poster fails over
the same way. The jobs page says which providers a job went through.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from castsmith.config import Settings
from castsmith.domain.jobs import RetryPolicy
from tests.fakes import FakeReplicate, FakeRunPod
from tests.harness import AppEnv, running_app, wait_job
from tests.integration.pipelines.test_posters_pay_once import settings_for
from tests.integration.pipelines.test_replicate_pay_once import (
    CREATE,
    created,
    enqueue_references,
    on_replicate,
)

pytestmark = pytest.mark.slow

DOWN = {"title": "Service Unavailable", "detail": "try again later", "status": 503}


def with_failover(settings: Settings, **more: Any) -> Settings:
    return settings.model_copy(
        update={"failover": {"reference": ["offline"], "poster": ["offline"]}, **more}
    )


async def job_line(env: AppEnv, job_id: int) -> dict[str, Any]:
    rows = (await env.client.get(f"/api/costs?by=job&job_id={job_id}")).json()["rows"]
    (line,) = rows
    return dict(line)


async def test_a_503_fails_over_to_the_next_provider_and_a_422_does_not(
    database_url: str, tmp_path: Path
) -> None:
    with FakeReplicate() as fake:
        settings = with_failover(on_replicate(Settings(data_dir=tmp_path), fake, database_url))
        no_retry = RetryPolicy(base=0.05, cap=0.1)
        async with running_app(settings, retry_policy=no_retry) as env:
            fake.script(CREATE, method="POST", status=503, json=DOWN)
            job_id = await enqueue_references(env, count=1)
            done = await wait_job(env.container, job_id, 30)
            over = await job_line(env, job_id)
            page = (await env.client.get("/jobs?view=all")).text

            fake.script(
                CREATE,
                method="POST",
                status=422,
                json={"title": "Input validation failed", "detail": "bad seed", "status": 422},
            )
            refused = await wait_job(env.container, await enqueue_references(env, count=1), 30)
            refused_line = await job_line(env, refused.id)
    # Served by the offline provider after Replicate's 503; both calls in the ledger.
    assert done.status == "completed", done.error
    assert done.attempts == 1
    assert (over["calls"], over["failed"], over["succeeded"]) == (2, 1, 1)
    assert "failover: replicate → offline" in page
    # A refused request is refused everywhere: no failover.
    assert refused.status == "failed"
    assert "bad seed" in (refused.error or "")
    assert (refused_line["calls"], refused_line["failed"]) == (1, 1)


async def test_the_breaker_skips_a_failing_provider_until_its_cool_down_passed(
    database_url: str, tmp_path: Path
) -> None:
    with FakeReplicate() as fake:
        base = on_replicate(Settings(data_dir=tmp_path), fake, database_url)
        settings = with_failover(base, breaker_failures=2, breaker_cooldown=2.0)
        async with running_app(settings) as env:
            fake.script(CREATE, method="POST", status=503, json=DOWN, times=10)
            for _ in range(2):
                done = await wait_job(env.container, await enqueue_references(env, count=1), 30)
                assert done.status == "completed", done.error
            assert created(fake) == 2
            # Open: the next job goes straight to the offline provider.
            skipped = await wait_job(env.container, await enqueue_references(env, count=1), 30)
            assert skipped.status == "completed", skipped.error
            assert created(fake) == 2
            assert (await job_line(env, skipped.id))["calls"] == 1

            # After the cool-down a probe reaches Replicate again, and it answers.
            await asyncio.sleep(2.2)
            fake.scripts.clear()
            probe = await wait_job(env.container, await enqueue_references(env, count=1), 30)
            line = await job_line(env, probe.id)
    assert probe.status == "completed", probe.error
    assert len(fake.calls_to(CREATE, "POST")) == 3
    assert (line["calls"], line["succeeded"]) == (1, 1)
    assert line["cost"] == pytest.approx(0.04)  # a Replicate image, not an offline one


async def test_a_runpod_poster_fails_over_when_runpod_is_down(
    database_url: str, tmp_path: Path
) -> None:
    with FakeRunPod() as fake:
        settings = with_failover(settings_for(Settings(data_dir=tmp_path), fake, database_url))
        async with running_app(settings) as env:
            fake.script(f"/v2/{fake.endpoint_id}/run", method="POST", status=502, body="down")
            actor_id = await env.create_actor()
            answer = await env.client.post(f"/api/actors/{actor_id}/regenerate-poster-frame")
            done = await wait_job(env.container, int(answer.json()["job_id"]), 60)
    assert done.status == "completed", done.error
    assert done.result["poster"]["provider"] == "offline"
    assert len(fake.jobs) == 0  # RunPod never took the job: nothing to pay there
