"""``finish_then_cancel``: a paid submission and the report of its id are not cut short
by a cancel; the cancel is raised once they have ended."""

from __future__ import annotations

import asyncio

import pytest

from castsmith.providers._support import finish_then_cancel


async def _submission(started: asyncio.Event, release: asyncio.Event, log: list[str]) -> str:
    started.set()
    await release.wait()
    log.append("id recorded")
    return "p1"


async def test_a_cancel_waits_for_the_submission_then_is_raised() -> None:
    started, release, log = asyncio.Event(), asyncio.Event(), []

    async def caller() -> str:
        return await finish_then_cancel(_submission(started, release, log))

    task = asyncio.create_task(caller())
    await started.wait()
    task.cancel()
    await asyncio.sleep(0.01)
    assert not task.done()  # held back until the id is recorded
    task.cancel()  # a second cancel is held back too
    await asyncio.sleep(0.01)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["id recorded"]


async def test_an_error_of_the_submission_gives_way_to_the_cancel() -> None:
    started = asyncio.Event()

    async def failing() -> str:
        started.set()
        await asyncio.sleep(0.01)
        raise RuntimeError("refused")

    task = asyncio.create_task(finish_then_cancel(failing()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_without_a_cancel_the_result_or_error_is_returned() -> None:
    started, release, log = asyncio.Event(), asyncio.Event(), []
    release.set()
    assert await finish_then_cancel(_submission(started, release, log)) == "p1"

    async def failing() -> str:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        await finish_then_cancel(failing())


async def test_a_timeout_around_it_still_becomes_a_timeout_error() -> None:
    started, release, log = asyncio.Event(), asyncio.Event(), []

    async def later() -> None:
        await asyncio.sleep(0.05)
        release.set()

    releaser = asyncio.create_task(later())
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await finish_then_cancel(_submission(started, release, log))
    await releaser
    assert log == ["id recorded"]
