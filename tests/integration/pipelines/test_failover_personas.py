"""Failover of the text-to-image and text roles, on SQLite and PostgreSQL.

An actor's generated base image (role ``base``), a persona's selfie (``persona_image``)
and its data (``persona_data``, a text provider) move on to the offline provider when
the fake OpenAI or Flowise answers 5xx, and never on a 4xx. The asset rows (the
provenance) name the provider that served; the ledger holds both calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from castsmith.config import Settings
from castsmith.db.models import Actor, Asset
from castsmith.db.models_costs import ProviderCall
from tests.fakes import FakeOpenAI
from tests.harness import AppEnv, running_app, wait_job
from tests.integration.pipelines.test_personas_support import (
    GridOpenAI,
    PersonaEnv,
    PersonaFlowise,
    persona_env,
    remote_settings,
)
from tests.integration.pipelines.test_replicate_pay_once import ledger

pytestmark = pytest.mark.slow

PREDICT = "/api/v1/prediction/"
GENERATE = "/v1/images/generations"
EDITS = "/v1/images/edits"
ROLES = {"base": ["offline"], "persona_image": ["offline"], "persona_data": ["offline"]}
REFUSED = {
    "error": {
        "message": "Invalid value for size.",
        "type": "invalid_request_error",
        "param": "size",
        "code": None,
    }
}


def failing_over(settings: Settings) -> Settings:
    return settings.model_copy(update={"failover": ROLES})


def calls_of(env: AppEnv, task_id: str) -> list[tuple[str, str, str]]:
    """(provider, kind, status) of every ledger line of a persona task, in order."""
    with env.container.sessions() as session:
        query = select(ProviderCall).where(ProviderCall.persona_task_id == task_id)
        rows = session.scalars(query.order_by(ProviderCall.id))
        return [(row.provider, row.kind, row.status) for row in rows]


def providers_of(env: AppEnv, asset_ids: list[int]) -> list[str | None]:
    with env.container.sessions() as session:
        return [session.get_one(Asset, asset_id).provider for asset_id in asset_ids]


@pytest.fixture
def fakes() -> Iterator[tuple[GridOpenAI, PersonaFlowise]]:
    with GridOpenAI() as openai, PersonaFlowise() as flowise:
        yield openai, flowise  # type: ignore[misc]


def persona_settings(
    fakes: tuple[GridOpenAI, PersonaFlowise], tmp_path: Path, database_url: str
) -> Settings:
    openai, flowise = fakes
    base = Settings(data_dir=tmp_path, database_url=database_url)
    return failing_over(remote_settings(base, openai, flowise))


async def finished(env: PersonaEnv) -> tuple[dict[str, Any], dict[str, Any]]:
    """A one-persona task, run to its end: (task, its one result)."""
    task = await env.wait((await env.create(1))["task_id"])
    (result,) = task["results"]
    return task, result


async def test_persona_data_fails_over_on_a_503_and_not_on_a_400(
    fakes: tuple[GridOpenAI, PersonaFlowise], tmp_path: Path, database_url: str
) -> None:
    _, flowise = fakes
    async with persona_env(persona_settings(fakes, tmp_path, database_url)) as env:
        flowise.script(PREDICT, method="POST", status=503, body="upstream down")
        served, result = await finished(env)
        served_calls = calls_of(env, served["task_id"])
        page = (await env.client.get("/jobs?view=all")).text

        flowise.script(PREDICT, method="POST", status=400, json={"message": "bad flow input"})
        refused = await env.wait((await env.create(1))["task_id"])
        refused_calls = calls_of(env, refused["task_id"])
    # Flowise's 503 moved the persona's data to the offline text provider.
    assert served["status"] == "completed", served["error_log"]
    assert result["status"] == "completed"
    assert served_calls[:2] == [("flowise", "text", "failed"), ("offline", "text", "succeeded")]
    assert "failover: flowise → offline" in page
    # A refused request is refused everywhere: one call, to Flowise, and the task failed.
    assert refused["status"] == "failed"
    assert refused_calls == [("flowise", "text", "failed")]


async def test_a_persona_selfie_fails_over_on_a_503_and_not_on_a_400(
    fakes: tuple[GridOpenAI, PersonaFlowise], tmp_path: Path, database_url: str
) -> None:
    openai, _ = fakes
    async with persona_env(persona_settings(fakes, tmp_path, database_url)) as env:
        openai.script(GENERATE, method="POST", status=503, json={"error": {"message": "busy"}})
        served, result = await finished(env)
        served_calls = calls_of(env, served["task_id"])
        served_by = providers_of(env, [image["asset_id"] for image in result["images"]])

        openai.fail_selfies_for = {"selfie"}  # every selfie prompt: a 400 (moderation)
        refused, refused_result = await finished(env)
        refused_calls = calls_of(env, refused["task_id"])
    assert served["status"] == "completed", served["error_log"]
    # The base was drawn by the offline provider, the grid (from it) by OpenAI.
    assert served_by == ["offline", "openai", "openai", "openai", "openai"]
    images = [call for call in served_calls if call[1] != "text"]
    assert images == [
        ("openai", "text_to_image", "failed"),
        ("offline", "text_to_image", "succeeded"),
        ("openai", "image_to_image", "succeeded"),
    ]
    assert len(openai.calls_to(EDITS)) == 1
    # The refused selfie was not drawn elsewhere.
    assert refused_result["status"] == "failed"
    assert "safety system" in refused_result["error"]
    assert [c for c in refused_calls if c[1] != "text"] == [("openai", "text_to_image", "failed")]


async def test_an_actor_base_image_fails_over_on_a_503_and_not_on_a_400(
    tmp_path: Path, database_url: str
) -> None:
    with FakeOpenAI() as openai:
        settings = Settings(
            data_dir=tmp_path,
            database_url=database_url,
            openai_api_key=SecretStr(openai.api_key),
            openai_base_url=f"{openai.url}/v1",
            image_provider="openai",
            provider_timeout=10.0,
        )
        async with running_app(failing_over(settings)) as env:
            actor_id = await env.create_actor()
            openai.script(GENERATE, method="POST", status=502, body="bad gateway")
            answer = await env.client.post(f"/api/actors/{actor_id}/base-image/generate")
            served = await wait_job(env.container, int(answer.json()["job_id"]), 60)
            served_calls = [(c.provider, c.status) for c in ledger(env, served.id)]
            with env.container.sessions() as session:
                asset_id = session.get_one(Actor, actor_id).base_image_asset_id
            assert asset_id is not None
            served_by = providers_of(env, [asset_id])

            other = await env.create_actor(name="0002_european_30_male")
            openai.script(GENERATE, method="POST", status=400, json=REFUSED)
            answer = await env.client.post(f"/api/actors/{other}/base-image/generate")
            refused = await wait_job(env.container, int(answer.json()["job_id"]), 60)
            refused_calls = [(c.provider, c.status) for c in ledger(env, refused.id)]
    assert served.status == "completed", served.error
    assert served_by == ["offline"]
    assert served_calls == [("openai", "failed"), ("offline", "succeeded")]
    assert refused.status == "failed"
    assert "size" in (refused.error or "")
    assert refused_calls == [("openai", "failed")]
