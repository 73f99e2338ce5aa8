"""The cost ledger after the demo cast, with posters on the fake RunPod, on SQLite and
PostgreSQL: ``castsmith costs`` shows a line per provider, a cancelled RunPod poster
shows as cancelled with its small cost (in the CLI, the API and the jobs page), and
the costs page totals it all."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from castsmith.cli import app
from castsmith.config import Settings
from tests.fakes import FakeRunPod
from tests.harness import running_app, wait_job
from tests.integration.jobs.helpers import until
from tests.integration.pipelines.test_posters_pay_once import settings_for, status_polls

pytestmark = pytest.mark.slow


async def castsmith(database_url: str, data_dir: Path, *args: str) -> str:
    """Run the CLI (in a thread: it runs its own event loop) and return its output."""
    runner = CliRunner()
    argv = ["--database-url", database_url, "--data-dir", str(data_dir), *args]
    done = await asyncio.to_thread(runner.invoke, app, argv)
    assert done.exit_code == 0, done.output
    return done.output


async def test_costs_after_the_demo_cast_and_a_cancelled_runpod_poster(
    database_url: str, tmp_path: Path
) -> None:
    with FakeRunPod(polls_before_done=0) as fake:
        settings = settings_for(Settings(data_dir=tmp_path), fake, database_url)
        async with running_app(settings) as env:
            demo = (await env.client.post("/api/demo-cast")).json()
            for job_id in demo["job_ids"]:
                done = await wait_job(env.container, job_id, 90)
                assert done.status == "completed", done.error

            # One more poster, cancelled while RunPod draws it.
            fake.polls_before_done = 10_000
            actor_id = demo["created"][0]["id"]
            answer = await env.client.post(f"/api/actors/{actor_id}/regenerate-poster-frame")
            cancelled_job = int(answer.json()["job_id"])
            await until(lambda: status_polls(fake) >= 5, 30)
            assert (await env.client.post(f"/api/jobs/{cancelled_job}/cancel")).is_success
            assert (await wait_job(env.container, cancelled_job, 30)).status == "cancelled"

            async def recorded() -> bool:
                answer = await env.client.get(f"/api/costs?by=job&job_id={cancelled_job}")
                return bool(answer.json()["rows"])

            await until(recorded, 10)
            by_job = (await env.client.get(f"/api/costs?by=job&job_id={cancelled_job}")).json()
            jobs_page = (await env.client.get("/jobs?view=all")).text
            costs_page = (await env.client.get("/costs")).text
            by_provider = (await env.client.get("/api/costs")).json()

    # The API: the cancelled job's one call, cancelled, billed by the seconds it ran.
    (line,) = by_job["rows"]
    assert (line["key"], line["calls"], line["cancelled"]) == (str(cancelled_job), 1, 1)
    assert 0 < line["cost"] < 0.05
    assert line["seconds"] > 0

    # The command line: a line per provider; RunPod's shows the cancelled call.
    text = await castsmith(database_url, tmp_path, "costs")
    lines = {row.split()[0]: row.split() for row in text.splitlines()[1:]}
    assert {"offline", "runpod", "total"} <= set(lines)
    offline, runpod = lines["offline"], lines["runpod"]
    # Four base images offline, free; four posters and the cancelled one on RunPod.
    assert offline[1:5] == ["4", "4", "0", "0"] and float(offline[-1]) == 0
    assert runpod[1:5] == ["5", "4", "0", "1"] and float(runpod[-1]) > 0
    report = json.loads(await castsmith(database_url, tmp_path, "costs", "--json"))
    assert report == by_provider
    runpod_row = next(r for r in report["rows"] if r["key"] == "runpod")
    # The demo posters' RunPod-reported execution time (2.3 s each) is what they cost.
    assert runpod_row["seconds"] >= 4 * 2.3
    by_day = await castsmith(database_url, tmp_path, "costs", "--by", "day", "--since", "1d")
    assert len(by_day.splitlines()) == 3  # header, today, total
    assert "no provider calls recorded" in await castsmith(
        database_url, tmp_path, "costs", "--since", "2999-01-01"
    )

    # The pages: the job's cost beside it, and the totals.
    assert "(cancelled)" in jobs_page
    assert "runpod" in costs_page and "offline" in costs_page


async def test_a_failed_runpod_job_is_charged_and_the_retry_submits_anew(
    database_url: str, tmp_path: Path
) -> None:
    with FakeRunPod(polls_before_done=0) as fake:
        fake.finish_next(
            status="FAILED", error="Job processing failed", executionTime=1500, delayTime=300
        )
        settings = settings_for(Settings(data_dir=tmp_path), fake, database_url)
        async with running_app(settings) as env:
            actor_id = await env.create_actor()
            spec_answer = await env.client.post(f"/api/actors/{actor_id}/regenerate-poster-frame")
            job_id = int(spec_answer.json()["job_id"])

            done = await wait_job(env.container, job_id, 60)
            (line,) = (await env.client.get(f"/api/costs?by=job&job_id={job_id}")).json()["rows"]
    # The workflow failed on the worker; the retry submitted anew (it does not follow a
    # failed job) and drew the poster. Both are charged: the failed one for the 1.5 s
    # RunPod reported it ran, with no image.
    assert done.status == "completed", done.error
    assert (line["calls"], line["failed"], line["succeeded"], line["images"]) == (2, 1, 1, 1)
    assert len(fake.calls_to(f"/v2/{fake.endpoint_id}/run")) == 2
    assert line["seconds"] == pytest.approx(1.5 + 2.3)
    assert line["cost"] == pytest.approx((1.5 + 2.3) * 0.00031, abs=1e-6)


async def test_a_persona_task_s_calls_are_totalled_under_the_task(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    async with running_app(settings) as env:
        task = (await env.client.post("/api/persona-tasks", json={"count": 2})).json()
        done = await wait_job(env.container, int(task["job_id"]), 90)
        assert done.status == "completed", done.error
        by_task = (await env.client.get("/api/costs?by=persona_task")).json()
    (line,) = by_task["rows"]
    # Per persona: its data (text), its base selfie and its grid; all offline, free.
    assert line["key"] == task["task_id"]
    assert (line["calls"], line["succeeded"], line["cost"]) == (6, 6, 0.0)
