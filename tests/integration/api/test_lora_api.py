"""The LoRA REST API over ASGI with an in-process worker (offline trainer, SQLite, local)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest

from castsmith.config import Settings
from tests.fakes.server import FakeServer
from tests.fakes.trainers import lora_bytes
from tests.harness import AppEnv, running_app
from tests.integration.lora.support import NAME, actor_with_dataset
from tests.integration.pipelines.test_training_support import actor_with_base


@pytest.fixture
async def app(sqlite_database_url: str, local_settings: Settings) -> AsyncIterator[AppEnv]:
    settings = local_settings.model_copy(
        update={
            "database_url": sqlite_database_url,
            "offline_training_seconds": 0.3,
            "fetch_allow_hosts": "127.0.0.1",
        }
    )
    async with running_app(settings) as env:
        yield env


def refusal(answer: Any, status: int, field: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["field"] == field, body
    return str(body["detail"])


async def test_train_wait_list_show_weights_grid_and_strength(app: AppEnv) -> None:
    actor_id = await actor_with_dataset(app.container)
    answer = await app.client.post(
        f"/api/actors/{actor_id}/lora-trainings?wait=30", json={"steps": 100, "rank": 4}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "completed"
    training = body["training"]
    assert training["status"] == "succeeded" and training["version"] == 1
    assert training["params"]["rank"] == 4

    listed = (await app.client.get(f"/api/actors/{actor_id}/lora-trainings")).json()
    assert [v["id"] for v in listed["versions"]] == [training["id"]]
    shown = (await app.client.get(f"/api/lora-trainings/{training['id']}")).json()
    assert shown["dataset"]["images"] == len(shown["dataset"]["items"]) > 0

    link = (await app.client.get(f"/api/lora-trainings/{training['id']}/weights")).json()
    assert link["file_name"] == f"{NAME}_v1.safetensors"
    data = await app.fetch(link["url"])
    assert len(data) == link["size_bytes"]

    await app.wait_job(shown["grid_job_id"], 60)
    grid = (await app.client.get(f"/api/lora-trainings/{training['id']}/test-grid")).json()
    assert len(grid["cells"]) == 9
    assert (await app.fetch(grid["cells"][0]["url"]))[:4] in (b"\x89PNG", b"RIFF")
    picked = await app.client.post(
        f"/api/lora-trainings/{training['id']}/strength", json={"strength": 1.0}
    )
    assert picked.json()["strength"] == 1.0
    bad = await app.client.post(
        f"/api/lora-trainings/{training['id']}/strength", json={"strength": 0.7}
    )
    refusal(bad, 422, "strength")
    again = await app.client.post(f"/api/lora-trainings/{training['id']}/make-current")
    assert again.json()["is_current"] is True
    ended = await app.client.post(f"/api/lora-trainings/{training['id']}/cancel")
    assert ended.status_code == 409


async def test_bad_training_requests_get_a_clear_4xx(app: AppEnv) -> None:
    actor_id = await actor_with_base(app.container)
    path = f"/api/actors/{actor_id}/lora-trainings"
    assert "needs at least 1" in refusal(await app.client.post(path, json={}), 422, "dataset")
    detail = refusal(await app.client.post(path, json={"provider": "fal"}), 422, "provider")
    assert "CASTSMITH_FAL_API_KEY" in detail
    refusal(await app.client.post(path, json={"provider": "nope"}), 422, "provider")
    refusal(await app.client.post(path, json={"resolution": 999}), 422, "resolution")
    refusal(await app.client.post(path, json={"colour": "red"}), 422, "colour")
    assert (await app.client.post("/api/actors/999/lora-trainings", json={})).status_code == 404
    assert (await app.client.get(f"{path}")).json()["versions"] == []


async def test_import_an_upload_or_a_url_and_refuse_what_is_not_safetensors(
    app: AppEnv,
) -> None:
    actor_id = await actor_with_base(app.container)
    path = f"/api/actors/{actor_id}/lora"
    weights = lora_bytes()
    upload = await app.client.post(
        path, files={"file": ("mine.safetensors", weights)}, data={"strength": "0.9"}
    )
    assert upload.status_code == 201, upload.text
    imported = upload.json()
    assert imported["source"] == "imported" and imported["is_current"]
    assert imported["strength"] == 0.9
    assert await app.container.store.get(imported["weights_key"]) == weights

    not_lora = await app.client.post(path, files={"file": ("x.safetensors", b"PK\x03\x04zip")})
    assert "not safetensors" in refusal(not_lora, 422, "weights")
    with FakeServer() as server:
        url = server.add_file(weights, "application/octet-stream", ".safetensors")
        by_url = await app.client.post(path, data={"url": url})
        assert by_url.status_code == 201, by_url.text
        assert by_url.json()["version"] == 2
        gone = await app.client.post(path, data={"url": f"{server.url}/files/missing"})
        refusal(gone, 422, "url")
    private = await app.client.post(path, data={"url": "http://10.1.2.3/lora.safetensors"})
    refusal(private, 422, "url")
    both = await app.client.post(path, data={"url": url}, files={"file": ("a", weights)})
    refusal(both, 422, "file")
    versions = (await app.client.get(f"/api/actors/{actor_id}/lora-trainings")).json()
    assert [v["version"] for v in versions["versions"]] == [2, 1]


async def test_export_folders_for_ai_toolkit_and_kohya(app: AppEnv) -> None:
    actor_id = await actor_with_dataset(app.container)
    base = f"/api/actors/{actor_id}/training-data/export"
    plain = zipfile.ZipFile(io.BytesIO((await app.client.get(f"{base}?format=zip")).content))
    images = [n for n in plain.namelist() if n.endswith(".jpg")]
    assert images and all(f"{n[:-4]}.txt" in plain.namelist() for n in images)

    toolkit = zipfile.ZipFile(
        io.BytesIO((await app.client.get(f"{base}?format=ai-toolkit")).content)
    )
    config = toolkit.read("ai-toolkit/config.yaml").decode()
    assert 'trigger_word: "zx12man"' in config and 'folder_path: "dataset"' in config
    assert f"dataset/{images[0]}" in toolkit.namelist()
    caption = toolkit.read(f"dataset/{images[0][:-4]}.txt").decode()
    assert caption.startswith("zx12man")

    kohya = zipfile.ZipFile(io.BytesIO((await app.client.get(f"{base}?format=kohya")).content))
    assert "image_dir = 'dataset'" in kohya.read("kohya/dataset.toml").decode()
    script = kohya.getinfo("kohya/train.sh")
    assert script.external_attr >> 16 & 0o111
    assert "flux_train_network.py" in kohya.read("kohya/train.sh").decode()
    assert "--w 1024" in kohya.read("kohya/sample_prompts.txt").decode()
    refusal(await app.client.get(f"{base}?format=dreambooth"), 422, "format")
