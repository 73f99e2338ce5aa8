"""Job status rules and the retry policy."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

import pytest

from castsmith.db.engine import make_engine
from castsmith.domain import jobs as rules
from castsmith.domain.errors import ProviderUnavailable, RateLimited
from castsmith.jobs.outcomes import Failed, RetryAt
from castsmith.jobs.queue import JobQueue, decode_cursor, encode_cursor
from castsmith.jobs.registry import HandlerRegistry, JobContext
from castsmith.jobs.types import ClaimedJob
from castsmith.jobs.worker import Worker


def test_children_aggregate_into_three_outcomes() -> None:
    assert rules.aggregate_children(["completed", "completed"]) == "completed"
    assert rules.aggregate_children(["completed", "failed"]) == "completed_with_errors"
    assert rules.aggregate_children(["failed", "cancelled"]) == "failed"
    assert rules.aggregate_children([]) == "completed"


def test_transitions() -> None:
    assert rules.can_transition("queued", "running")
    assert rules.can_transition("failed", "queued")
    assert not rules.can_transition("completed", "queued")
    assert rules.require_transition("waiting", "completed_with_errors") == "completed_with_errors"
    with pytest.raises(rules.IllegalTransition, match="a completed job cannot become queued"):
        rules.require_transition("completed", "queued")
    assert rules.is_terminal("completed_with_errors")
    assert not rules.is_terminal("waiting")


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = rules.RetryPolicy(base=2.0, cap=30.0)
    assert [policy.ceiling(n) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    rng = random.Random(7)
    expected = random.Random(7)
    for attempt in range(1, 8):
        assert policy.delay(attempt, rng=rng) == expected.uniform(0, policy.ceiling(attempt))
    assert policy.ceiling(10_000) == 30.0


def test_retry_after_is_a_floor() -> None:
    policy = rules.RetryPolicy(base=1.0, cap=2.0)
    assert policy.delay(1, retry_after=45.0, rng=random.Random(1)) == 45.0


def test_should_retry() -> None:
    assert rules.should_retry(True, 1, 3)
    assert not rules.should_retry(True, 3, 3)
    assert not rules.should_retry(False, 1, 3)


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor(1234)) == 1234


def _job(attempt: int, max_attempts: int = 5) -> ClaimedJob:
    return ClaimedJob(
        id=1,
        kind="k",
        payload={},
        attempt=attempt,
        max_attempts=max_attempts,
        run_id=1,
        parent_id=None,
        owner_id=None,
        provider=None,
        timeout_seconds=None,
        stage="run",
        queue="default",
    )


def test_worker_schedules_retries_on_the_policy_with_injected_clock_and_random() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    queue = JobQueue.__new__(JobQueue)
    queue.clock = lambda: now
    worker = Worker(
        queue, HandlerRegistry(), retry_policy=rules.RetryPolicy(1.0, 60.0), rng=random.Random(3)
    )
    expected = random.Random(3)
    for attempt in (1, 2, 3):
        outcome = worker._attempts.retry_or_fail(_job(attempt), "boom", True, None)
        delay = expected.uniform(0, 2.0 ** (attempt - 1))
        assert isinstance(outcome, RetryAt)
        assert outcome.at == now + timedelta(seconds=delay)
    limited = RateLimited("slow down", retry_after=90)
    outcome = worker._attempts.retry_or_fail(_job(1), str(limited), True, limited.retry_after)
    assert isinstance(outcome, RetryAt) and outcome.at == now + timedelta(seconds=90)
    last = worker._attempts.retry_or_fail(_job(5), str(ProviderUnavailable("x")), True, None)
    assert isinstance(last, Failed)
    permanent = worker._attempts.retry_or_fail(_job(1), "bad request", False, None)
    assert isinstance(permanent, Failed) and permanent.error == "bad request"


async def test_progress_survives_a_database_that_is_briefly_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A real engine aimed at a port where nothing listens: every write fails as it
    # would while PostgreSQL restarts.
    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    queue = JobQueue(engine)
    ctx = JobContext(_job(1), queue, "w1", None, logging.getLogger("test.jobs"))
    with caplog.at_level(logging.WARNING):
        await ctx.progress(50, "half way")
    assert "progress of job 1 not recorded" in caplog.text
    engine.dispose()


def test_infrastructure_errors_back_off_for_minutes_and_may_outlast_the_job_limit() -> None:
    policy = rules.RetryPolicy(base=2.0, cap=30.0, infra_base=30.0, infra_cap=600.0)
    infra = rules.INFRASTRUCTURE
    assert [policy.ceiling(n, infra) for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]
    rng = random.Random(11)
    for attempt in range(1, 12):
        delay = policy.delay(attempt, rng=rng, category=infra)
        ceiling = policy.ceiling(attempt, infra)
        assert ceiling / 2 <= delay <= ceiling
    # The provider schedule is unchanged by the infrastructure one.
    assert policy.ceiling(3) == 8.0
    assert policy.allows(infra, True, 3, 3) and not policy.allows(rules.PROVIDER, True, 3, 3)
    assert not policy.allows(infra, True, 10, 3)
    assert not policy.allows(infra, False, 1, 3)
