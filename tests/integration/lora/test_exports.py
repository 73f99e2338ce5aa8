"""After a training, the actor's manifest and ``actorsData.json`` carry its LoRA (URL,
name, trigger word, strengths) and seed 000's ``poster_frame_url`` (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from castsmith.config import Settings
from castsmith.pipelines.actors import interchange
from tests.harness import AppEnv, running_app
from tests.integration.lora.support import NAME, actor_with_dataset
from tests.integration.pipelines.test_training_support import add_actor

LORA = (
    "lora_model_url",
    "lora_name",
    "lora_trigger_word",
    "lora_strength_model",
    "lora_strength_clip",
)


def unsigned(url: str) -> str:
    """``url`` without its query (a signed link's expiry and signature)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@pytest.fixture
async def app(database_url: str, local_settings: Settings) -> AsyncIterator[AppEnv]:
    settings = local_settings.model_copy(
        update={"database_url": database_url, "offline_training_seconds": 0.3}
    )
    async with running_app(settings) as env:
        yield env


async def test_exports_carry_the_trained_lora_and_the_poster_url(
    app: AppEnv, tmp_path: Path
) -> None:
    actor_id = await actor_with_dataset(app.container)
    bare = add_actor(app.container, "0013_european_30_male", trigger=None)
    trained = await app.client.post(
        f"/api/actors/{actor_id}/lora-trainings?wait=30", json={"steps": 50}
    )
    assert trained.status_code == 200, trained.text
    training = trained.json()["training"]
    await app.wait_job(training["poster_job_id"], 60)
    picked = await app.client.post(
        f"/api/lora-trainings/{training['id']}/strength", json={"strength": 0.6}
    )
    assert picked.status_code == 200, picked.text
    actor = (await app.client.get(f"/api/actors/{actor_id}")).json()

    manifest = (await app.client.get(f"/api/actors/{actor_id}/manifest")).json()
    assert manifest["lora_name"] == f"{NAME}_v1.safetensors"
    assert manifest["lora_model_url"] == actor["lora"]["model_url"]
    assert manifest["lora_trigger_word"] == "zx12man"
    assert manifest["lora_strength_model"] == 0.6 == actor["lora"]["strength_model"]
    assert manifest["lora_strength_clip"] == actor["lora"]["strength_clip"]
    # The poster drawn with the new LoRA, at a URL that serves it.
    poster = await app.fetch(manifest["poster_frame_url"])
    assert poster[:4] in (b"\x89PNG", b"RIFF", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb")
    assert len(poster) > 1000

    nothing = (await app.client.get(f"/api/actors/{bare}/manifest")).json()
    assert all(nothing[field] is None for field in (*LORA, "poster_frame_url"))

    path = tmp_path / "actorsData.json"
    await interchange.export_actors_data_file(app.container, path)
    records = {record["name"]: record for record in json.loads(path.read_text())}
    record = records[NAME]
    assert {field: record[field] for field in LORA} == {field: manifest[field] for field in LORA}
    # Signed links carry their expiry, which moves with the clock: compare what they name.
    assert unsigned(record["poster_frame_url"]) == unsigned(manifest["poster_frame_url"])
    assert record["poster_frames"]["standard"]["webp_lg"]
    assert not any(field in records["0013_european_30_male"] for field in LORA)

    # Read back, the strengths land in the actor again and the poster URL (derived from
    # the current poster) is not kept as a stale copy.
    record["lora_strength_model"] = 1.0
    path.write_text(json.dumps([record]))
    await interchange.import_actors_data_file(app.container, path)
    again = (await app.client.get(f"/api/actors/{actor_id}")).json()
    assert again["lora"]["strength_model"] == 1.0
    exported = await interchange.actors_data(app.container)
    back = next(r for r in exported if r["name"] == NAME)
    # (The import records its poster URLs as the current, imported poster version.)
    assert unsigned(back["poster_frame_url"]) == unsigned(
        back["poster_frames"]["standard"]["webp_lg"]
    )
    assert back["lora_strength_model"] == 1.0
