"""The readiness gate on the embedded default's offline flow (SQLite and PostgreSQL).

Placeholder art counts as usable with its identity unchecked, even before its check has
run, so the dataset -> trained LoRA flow needs no ``force``; a dataset with too few
usable images is refused with the report, the page says so and offers "train anyway".
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from castsmith.config import Settings
from tests.harness import AppEnv, running_app
from tests.integration.lora.support import actor_with_dataset


@pytest.fixture
async def app(database_url: str, local_settings: Settings) -> AsyncIterator[AppEnv]:
    settings = local_settings.model_copy(
        update={"database_url": database_url, "offline_training_seconds": 0.3}
    )
    async with running_app(settings) as env:
        yield env


def force_field(html: str) -> str:
    found = re.search(r'<div class="field" id="lt-force-field"[^>]*>', html)
    assert found, "the page has no force checkbox"
    return found.group(0)


async def test_the_offline_flow_needs_no_force_and_too_few_images_need_it(app: AppEnv) -> None:
    actor_id = await actor_with_dataset(app.container)
    path = f"/api/actors/{actor_id}/lora-trainings"
    # Straight after the dataset: its checks may still be queued; placeholders pass.
    trained = await app.client.post(f"{path}?wait=30", json={"steps": 50})
    assert trained.status_code == 200, trained.text
    assert trained.json()["training"]["status"] == "succeeded"

    page = (await app.client.get(f"/actors/{actor_id}")).text
    assert "ready for the offline trainer" in page
    assert "placeholder art: identity not checked" in page
    assert " hidden" in force_field(page)

    listing = (await app.client.get(f"/api/actors/{actor_id}/training-data")).json()
    items = listing["training_data"]
    assert len(items) > 3
    for item in items[3:]:
        answer = await app.client.delete(f"/api/actors/{actor_id}/training-data/{item['id']}")
        assert answer.status_code == 200, answer.text

    refused = await app.client.post(path, json={"steps": 50})
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["field"] == "dataset" and body["report"]["counts"]["usable"] == 3
    assert "3 usable image(s), at least 10 needed" in body["detail"]
    versions = (await app.client.get(path)).json()["versions"]
    assert [v["version"] for v in versions] == [1]

    page = (await app.client.get(f"/actors/{actor_id}")).text
    assert "not ready for training" in page
    assert "3 usable image(s), at least 10 needed: generate or upload more" in page
    assert " hidden" not in force_field(page)

    forced = await app.client.post(f"{path}?wait=30", json={"steps": 50, "force": True})
    assert forced.status_code == 200, forced.text
    training = forced.json()["training"]
    assert training["status"] == "succeeded" and training["dataset"]["images"] == 3
    forced = training["params"]["forced"]["reasons"]
    assert "3 usable image(s), at least 10 needed: generate or upload more" in forced
    assert "forced" not in versions[0]["params"]  # the first one was ready
    bad = await app.client.post(path, json={"force": "maybe"})
    assert bad.status_code == 422 and bad.json()["field"] == "force"
