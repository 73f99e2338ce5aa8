"""Persona failures against the remote fakes: one persona's grid refused, retry, all fail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from castsmith.config import Settings
from tests.integration.pipelines.test_personas_support import (
    GridOpenAI,
    PersonaEnv,
    PersonaFlowise,
    persona_env,
    remote_settings,
)


@pytest.fixture
def fakes() -> Iterator[tuple[GridOpenAI, PersonaFlowise]]:
    with GridOpenAI() as openai, PersonaFlowise() as flowise:
        yield openai, flowise  # type: ignore[misc]


@pytest.fixture
async def env(
    fakes: tuple[GridOpenAI, PersonaFlowise], tmp_path: Path, sqlite_database_url: str
) -> AsyncIterator[PersonaEnv]:
    openai, flowise = fakes
    base = Settings(data_dir=tmp_path, database_url=sqlite_database_url)
    async with persona_env(remote_settings(base, openai, flowise)) as running:
        yield running


async def stored_keys(env: PersonaEnv, task_id: str) -> list[str]:
    return sorted([meta.key async for meta in env.container.store.list(f"avatars/task_{task_id}")])


async def test_one_failed_grid_then_retry_failed(
    env: PersonaEnv, fakes: tuple[GridOpenAI, PersonaFlowise]
) -> None:
    openai, _ = fakes
    openai.fail_for = {"Tobias Krüger"}  # the second persona the flow hands out
    created = await env.create(3)
    task = await env.wait(created["task_id"])

    assert task["status"] == "completed_with_errors"
    by_name = {f"{r['firstname']} {r['lastname']}": r for r in task["results"]}
    failed = by_name["Tobias Krüger"]
    assert failed["status"] == "failed"
    assert "Generating 4-image grid failed" in failed["error"]
    assert "safety system" in failed["error"]
    # The base was recorded when its job ended; the grid's half-written splits were not.
    assert failed["base_image_url"] is not None
    assert [image["name"] for image in failed["images"]] == ["base"]
    assert failed["image_1_url"] is None
    assert task["error_log"] == [
        {"persona": "Tobias Krüger", "result_id": failed["result_id"], "error": failed["error"]}
    ]
    for name, result in by_name.items():
        if name != "Tobias Krüger":
            assert result["status"] == "completed"
            assert len(result["images"]) == 5
    keys = await stored_keys(env, task["task_id"])
    assert len(keys) == 11
    assert [key for key in keys if f"persona_{failed['result_id']}/" in key] == [
        f"avatars/task_{task['task_id']}/persona_{failed['result_id']}/base.png"
    ]

    generations_before = len(openai.calls_to("/v1/images/generations"))
    edits_before = len(openai.calls_to("/v1/images/edits"))
    openai.fail_for = set()  # the provider is fixed
    answer = await env.client.post(f"/api/persona-tasks/{task['task_id']}/retry-failed")
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "generating-images"
    assert answer.json()["job_id"] != task["job_id"]
    retried = await env.wait(task["task_id"])

    assert retried["status"] == "completed"
    assert retried["error_log"] == []
    assert all(r["status"] == "completed" and len(r["images"]) == 5 for r in retried["results"])
    # Only the failed persona ran again, and only from its grid: its base was kept.
    assert len(openai.calls_to("/v1/images/generations")) == generations_before
    assert len(openai.calls_to("/v1/images/edits")) == edits_before + 1
    before = {r["result_id"]: r["images"] for r in task["results"]}
    for result in retried["results"]:
        kept = before[result["result_id"]]
        assert [i["key"] for i in result["images"][: len(kept)]] == [i["key"] for i in kept]
    assert len(await stored_keys(env, task["task_id"])) == 15
    job = (await env.client.get(f"/api/jobs/{retried['job_id']}")).json()
    assert job["status"] == "completed"

    again = await env.client.post(f"/api/persona-tasks/{task['task_id']}/retry-failed")
    assert again.status_code == 409
    assert "completed" in again.json()["detail"]


async def test_failed_base_leaves_nothing_and_retries_from_the_start(
    env: PersonaEnv, fakes: tuple[GridOpenAI, PersonaFlowise]
) -> None:
    openai, _ = fakes
    openai.fail_selfies_for = {"Maren Holt"}  # the first persona the flow hands out
    created = await env.create(2)
    task = await env.wait(created["task_id"])

    assert task["status"] == "completed_with_errors"
    failed = next(r for r in task["results"] if r["firstname"] == "Maren")
    assert failed["status"] == "failed"
    assert failed["error"].startswith("Generating base selfie image failed")
    assert failed["images"] == [] and failed["base_image_url"] is None
    assert not any(
        f"persona_{failed['result_id']}/" in key for key in await stored_keys(env, task["task_id"])
    )
    # The failed base never asked for a grid.
    assert len(openai.calls_to("/v1/images/edits")) == 1

    openai.fail_selfies_for = set()
    answer = await env.client.post(f"/api/persona-tasks/{task['task_id']}/retry-failed")
    assert answer.status_code == 202, answer.text
    retried = await env.wait(task["task_id"])
    assert retried["status"] == "completed", retried["error_log"]
    assert len(openai.calls_to("/v1/images/edits")) == 2
    assert len(await stored_keys(env, task["task_id"])) == 10


async def test_every_persona_failing_fails_the_task(
    env: PersonaEnv, fakes: tuple[GridOpenAI, PersonaFlowise]
) -> None:
    openai, _ = fakes
    openai.fail_all_edits = True
    created = await env.create(2)
    task = await env.wait(created["task_id"])

    assert task["status"] == "failed"
    assert len(task["error_log"]) == 2
    assert {entry["persona"] for entry in task["error_log"]} == {
        f"{r['firstname']} {r['lastname']}" for r in task["results"]
    }
    assert all("safety system" in entry["error"] for entry in task["error_log"])
    # Each base selfie was made and kept; only the grids failed, and left nothing.
    assert [key.rsplit("/", 1)[1] for key in await stored_keys(env, task["task_id"])] == [
        "base.png",
        "base.png",
    ]
    job = await env.client.get(f"/api/jobs/{task['job_id']}")
    assert job.status_code == 200
    assert job.json()["status"] == "failed"
