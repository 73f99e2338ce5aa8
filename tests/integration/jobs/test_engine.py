"""The job engine on SQLite and PostgreSQL with in-process workers."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from castsmith.db.engine import make_session_factory
from castsmith.domain.access import OPERATOR
from castsmith.domain.errors import Conflict, InvalidRequest, NotFound
from castsmith.domain.jobs import RetryPolicy
from castsmith.jobs.registry import HandlerRegistry, JobContext
from castsmith.jobs.sql import CANCEL_CHANNEL
from castsmith.jobs.types import ChildrenSummary, ClaimedJob, JobSpec, WaitForChildren
from castsmith.jobs.worker import Worker
from tests.integration.jobs.helpers import FAST, job_status, queue_for, registry, running, until


def test_idempotency_key_returns_the_active_job(database_url: str) -> None:
    queue = queue_for(database_url, registry())
    first = queue.enqueue("diagnostic.sleep", {}, idempotency_key="poster:7")
    again = queue.enqueue("diagnostic.sleep", {"other": 1}, idempotency_key="poster:7")
    assert again.id == first.id
    both = queue.enqueue_many([JobSpec("diagnostic.sleep", idempotency_key="k2")] * 2)
    assert both[0].id == both[1].id
    queue.cancel(first.id)
    fresh = queue.enqueue("diagnostic.sleep", {}, idempotency_key="poster:7")
    assert fresh.id != first.id
    assert queue.get(first.id).status == "cancelled"


def test_cancel_and_retry_a_queued_job(database_url: str) -> None:
    queue = queue_for(database_url, registry())
    job = queue.enqueue("diagnostic.sleep", {"seconds": 1})
    assert queue.cancel(job.id).status == "cancelled"
    with pytest.raises(Conflict):
        queue.retry(queue.enqueue("diagnostic.sleep").id)
    again = queue.retry(job.id)
    assert again.status == "queued" and again.attempts == 0
    with pytest.raises(NotFound, match="job 999999 not found"):
        queue.get(999999)


async def test_diagnostic_job_retries_then_succeeds(database_url: str) -> None:
    reg = registry()
    queue = queue_for(database_url, reg)
    ok = queue.enqueue("diagnostic.sleep", {"fail_times": 2})
    doomed = queue.enqueue("diagnostic.sleep", {"fail_times": 5}, max_attempts=2)
    async with running(Worker(queue, reg, concurrency=4, **FAST)):
        await until(job_status(queue, ok.id))
        await until(job_status(queue, doomed.id))
    done = queue.get(ok.id)
    assert done.status == "completed" and done.result == {"slept": 0.0, "attempt": 3}
    assert [r.outcome for r in queue.runs(ok.id)] == ["retrying", "retrying", "succeeded"]
    failed = queue.get(doomed.id)
    assert failed.status == "failed"
    assert failed.error == "diagnostic failure on attempt 2 of 5 planned"
    assert [r.outcome for r in queue.runs(doomed.id)] == ["retrying", "failed"]


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_retries_follow_the_backoff_schedule(database_url: str) -> None:
    reg = registry()
    clock = ManualClock()
    queue = queue_for(database_url, reg, clock=clock)
    policy = RetryPolicy(base=10.0, cap=100.0)
    expected = random.Random(42)
    job = queue.enqueue("diagnostic.sleep", {"fail_times": 2}, max_attempts=3)
    worker = Worker(
        queue,
        reg,
        retry_policy=policy,
        rng=random.Random(42),
        poll_interval=0.05,
        heartbeat_interval=0.2,
    )
    async with running(worker):
        for attempt in (1, 2):
            await until(
                lambda a=attempt: (
                    len(queue.runs(job.id)) == a and queue.get(job.id).status == "queued"
                )
            )
            delay = expected.uniform(0, policy.ceiling(attempt))
            view = queue.get(job.id)
            assert view.run_after == clock.now + timedelta(seconds=delay)
            await asyncio.sleep(0.2)
            assert queue.get(job.id).status == "queued"  # not before its time
            clock.now = view.run_after
        await until(job_status(queue, job.id))
    assert queue.get(job.id).status == "completed"


async def test_timeout_fails_the_attempt(database_url: str) -> None:
    reg = registry()
    queue = queue_for(database_url, reg)
    job = queue.enqueue("diagnostic.sleep", {"seconds": 5}, timeout_seconds=0.2, max_attempts=2)
    async with running(Worker(queue, reg, **FAST)):
        await until(job_status(queue, job.id))
    view = queue.get(job.id)
    assert view.status == "failed" and view.error == "timed out after 0.2 s"
    assert [r.outcome for r in queue.runs(job.id)] == ["timed_out", "timed_out"]


async def test_cancel_a_running_job_stops_its_handler(database_url: str) -> None:
    reg = registry()
    stopped = asyncio.Event()

    async def endless(ctx: JobContext) -> dict[str, Any]:
        try:
            await ctx.progress(10, "started")
            await asyncio.sleep(60)
        finally:
            stopped.set()
        return {"never": True}

    reg.register("test.endless", endless)
    queue = queue_for(database_url, reg)
    job = queue.enqueue("test.endless")
    async with running(Worker(queue, reg, **FAST)):
        await until(lambda: queue.get(job.id).progress == 10)
        assert queue.cancel(job.id).cancel_requested
        await asyncio.wait_for(stopped.wait(), 5)
        await until(job_status(queue, job.id))
    view = queue.get(job.id)
    assert view.status == "cancelled" and view.result is None
    assert [r.outcome for r in queue.runs(job.id)] == ["cancelled"]


class _CancelHeardAtStart(Worker):
    """A worker that hears a job's cancel right after starting it, before its task ran.

    That is what happens when the cancel's NOTIFY (or this process's own cancel) is
    handled in the same loop iteration as the claim that started the job: the job is
    registered, but its task has not taken its first step yet.
    """

    def _start(self, job: ClaimedJob) -> None:
        super()._start(job)
        self.queue.cancel(job.id)
        self._on_notify(CANCEL_CHANNEL, str(job.id))


async def test_a_cancel_heard_before_the_handler_starts_stops_the_job(database_url: str) -> None:
    reg = registry()
    ran: list[int] = []

    async def endless(ctx: JobContext) -> dict[str, Any]:
        ran.append(ctx.job_id)
        await asyncio.sleep(60)
        return {"never": True}

    reg.register("test.endless", endless)
    queue = queue_for(database_url, reg)
    job = queue.enqueue("test.endless")
    async with running(_CancelHeardAtStart(queue, reg, **FAST)):
        # Far below the 30 s lease: the job must not wait for the lease to run out.
        await until(job_status(queue, job.id), deadline=5)
    view = queue.get(job.id)
    assert view.status == "cancelled"
    # Recorded by the worker ("cancelled"), not by the reaper once the lease ran out ("lost").
    assert [r.outcome for r in queue.runs(job.id)] == ["cancelled"]
    assert ran == []  # cancelled before it began: the handler never starts paid work


async def test_graceful_shutdown_gives_leases_back(database_url: str) -> None:
    reg = registry()
    queue = queue_for(database_url, reg)
    job = queue.enqueue("diagnostic.sleep", {"seconds": 30})
    worker = Worker(queue, reg, **(FAST | {"shutdown_grace": 0.2}))
    async with running(worker):
        await until(lambda: queue.get(job.id).status == "running")
    view = queue.get(job.id)
    assert view.status == "queued" and view.attempts == 0 and view.worker_id is None
    runs = queue.runs(job.id)
    assert [r.outcome for r in runs] == ["lost"]
    assert runs[0].error is not None and "shut down" in runs[0].error


def _parent_registry(child_payloads: list[dict[str, Any]], seen: list[Any]) -> HandlerRegistry:
    reg = registry()

    async def parent(ctx: JobContext) -> WaitForChildren:
        await ctx.spawn(
            [
                JobSpec("diagnostic.sleep", p, max_attempts=1, label=f"child-{i}")
                for i, p in enumerate(child_payloads)
            ]
        )
        return WaitForChildren()

    async def finished(ctx: JobContext, summary: ChildrenSummary) -> dict[str, Any]:
        seen.append((summary.status, [c.parent_id for c in summary.children]))
        return {"children": len(summary.children)}

    reg.register("test.parent", parent, on_children_done=finished)
    reg.register("test.plain_parent", parent)
    return reg


@pytest.mark.parametrize(
    ("fails", "status"),
    [(0, "completed"), (1, "completed_with_errors"), (3, "failed")],
)
async def test_parent_rolls_up_its_children(database_url: str, fails: int, status: str) -> None:
    payloads = [{"fail_times": 1 if i < fails else 0} for i in range(3)]
    seen: list[Any] = []
    reg = _parent_registry(payloads, seen)
    queue = queue_for(database_url, reg)
    hooked = queue.enqueue("test.parent")
    plain = queue.enqueue("test.plain_parent")
    async with running(Worker(queue, reg, concurrency=4, **FAST)):
        await until(job_status(queue, hooked.id))
        await until(job_status(queue, plain.id))
    for job_id in (hooked.id, plain.id):
        view = queue.get(job_id)
        assert view.status == status
        assert len(view.error_log) == fails
        for entry in view.error_log:
            assert set(entry) == {"child_id", "kind", "error", "label"}
            assert entry["kind"] == "diagnostic.sleep" and entry["label"].startswith("child-")
            assert entry["error"].startswith("diagnostic failure")
    assert queue.get(hooked.id).result == {"children": 3}
    assert seen == [(status, [hooked.id] * 3)]


async def test_cancelling_a_parent_cancels_its_children(database_url: str) -> None:
    reg = _parent_registry([{"seconds": 30}, {"seconds": 30}], [])
    queue = queue_for(database_url, reg)
    parent = queue.enqueue("test.parent")
    async with running(Worker(queue, reg, concurrency=1, **FAST)):
        await until(lambda: queue.get(parent.id).status == "waiting")
        children, _ = queue.list_jobs(OPERATOR, parent_id=parent.id)
        await until(lambda: any(queue.get(c.id).status == "running" for c in children))
        queue.cancel(parent.id)
        for child in children:
            await until(job_status(queue, child.id))
    assert queue.get(parent.id).status == "cancelled"
    assert {queue.get(c.id).status for c in children} == {"cancelled"}


async def test_permanent_errors_fail_at_once(database_url: str) -> None:
    reg = registry()

    async def refuse(_ctx: JobContext) -> dict[str, Any]:
        raise InvalidRequest("the prompt is empty")

    async def crash(_ctx: JobContext) -> dict[str, Any]:
        raise KeyError("oops")

    reg.register("test.refuse", refuse)
    reg.register("test.crash", crash)
    queue = queue_for(database_url, reg)
    refused = queue.enqueue("test.refuse", max_attempts=5)
    crashed = queue.enqueue("test.crash", max_attempts=2)
    unknown = queue.enqueue("test.unknown")
    async with running(Worker(queue, reg, **FAST)):
        for job in (refused, crashed, unknown):
            await until(job_status(queue, job.id))
    assert queue.get(refused.id).error == "the prompt is empty"
    assert len(queue.runs(refused.id)) == 1
    assert "KeyError" in (queue.get(crashed.id).error or "")
    assert len(queue.runs(crashed.id)) == 2
    assert "no handler" in (queue.get(unknown.id).error or "")


async def test_rate_limit_caps_starts_per_minute(database_url: str) -> None:
    from castsmith.config import ProviderLimit

    reg = registry()
    limits = {"slowapi": ProviderLimit(rpm=5)}
    queues = [queue_for(database_url, reg, limits=limits) for _ in range(2)]
    jobs = queues[0].enqueue_many([JobSpec("diagnostic.sleep", provider="slowapi")] * 8)
    free = queues[0].enqueue("diagnostic.sleep")
    workers = [Worker(q, reg, concurrency=4, **FAST) for q in queues]
    async with running(workers[0]), running(workers[1]):
        await until(job_status(queues[0], free.id))
        await until(lambda: queues[0].stats()["jobs_by_status"].get("completed") == 6)
        await asyncio.sleep(0.5)
        statuses = [queues[0].get(j.id).status for j in jobs]
    assert statuses.count("completed") == 5 and statuses.count("queued") == 3


async def test_periodic_task_runs_once_per_period_across_workers(database_url: str) -> None:
    from castsmith.jobs.periodic import PeriodicTask

    reg = registry()
    calls: list[int] = []

    async def tick(_services: Any) -> None:
        calls.append(1)

    task = PeriodicTask("test.tick", 3600.0, tick)
    queues = [queue_for(database_url, reg) for _ in range(3)]
    workers = [Worker(q, reg, periodic=[task], **FAST) for q in queues]
    async with running(workers[0]), running(workers[1]), running(workers[2]):
        await until(lambda: len(calls) >= 1)
        await asyncio.sleep(0.3)
    assert calls == [1]


def test_events_are_pruned(database_url: str) -> None:
    queue = queue_for(database_url, registry())
    queue.enqueue("diagnostic.sleep")
    assert len(queue.events_after(0)) == 1
    assert queue.prune_events(timedelta(hours=1)) == 0
    assert queue.prune_events(timedelta(seconds=-1)) == 1
    assert queue.events_after(0) == []


def test_spawn_in_commits_and_rolls_back_with_the_callers_transaction(
    database_url: str,
) -> None:
    queue = queue_for(database_url, registry())
    sessions = make_session_factory(queue.engine)
    woken: list[bool] = []
    queue.add_listener(lambda: woken.append(True), new_work_only=True)
    parent = queue.enqueue("diagnostic.sleep", {}, owner_id=None)
    child = JobSpec("diagnostic.sleep", idempotency_key=f"child:{parent.id}")
    woken.clear()

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), sessions.begin() as session:
        queue.spawn_in(session, parent.id, [child])
        raise Abandon
    assert queue.children_summary(parent.id).children == []
    assert woken == []  # nothing committed, nobody woken

    with sessions.begin() as session:
        made = queue.spawn_in(session, parent.id, [child])
        queue.spawn_in(session, parent.id, [JobSpec("diagnostic.sleep")])
        assert woken == []  # not before the commit
    assert woken == [True]  # once after it, for both spawns
    children = queue.children_summary(parent.id).children
    assert children[0].id == made[0].id and len(children) == 2
    assert children[0].status == "queued" and children[0].owner_id == parent.owner_id
    # The key still finds the active child: a retried parent does not spawn it twice.
    with sessions.begin() as session:
        again = queue.spawn_in(session, parent.id, [child])
    assert again[0].id == made[0].id
    with pytest.raises(NotFound), sessions.begin() as session:
        queue.spawn_in(session, 999999, [child])


async def test_children_spawned_in_a_callers_transaction_run_without_waiting_for_a_poll(
    database_url: str,
) -> None:
    reg = registry()
    queue = queue_for(database_url, reg)
    sessions = make_session_factory(queue.engine)
    later = datetime.now(UTC) + timedelta(hours=1)
    parent = queue.enqueue("diagnostic.sleep", {}, run_after=later)
    # A poll every ten minutes: only the wake-up at commit can start the child quickly.
    slow = FAST | {"poll_interval": 600.0}
    async with running(Worker(queue, reg, concurrency=2, **slow)):
        await asyncio.sleep(0.5)  # the worker has made its first, empty claim

        def spawn() -> int:
            with sessions.begin() as session:
                return queue.spawn_in(session, parent.id, [JobSpec("diagnostic.sleep")])[0].id

        child_id = await asyncio.to_thread(spawn)
        await until(job_status(queue, child_id), deadline=20)
    assert queue.get(child_id).status == "completed"
    assert queue.get(parent.id).status == "queued"
