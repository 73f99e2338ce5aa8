"""Getting a stored LoRA to the poster provider: ComfyUI's folder, RunPod's volume or a
synced prefix, or a message naming the file and the place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.domain.errors import ValidationError
from castsmith.pipelines.lora.delivery import current_version, deliver, deliver_current
from castsmith.pipelines.lora.importing import import_file
from tests.conftest import S3_TEST_KEY, S3_TEST_REGION, S3_TEST_SECRET, S3Server
from tests.fakes.trainers import lora_bytes
from tests.integration.pipelines.test_training_support import add_actor, training_services

NAME = "0012_european_30_male"
FILE = f"{NAME}_v1.safetensors"


@pytest.fixture
async def services(
    local_settings: Settings, sqlite_database_url: str, tmp_path: Path
) -> AsyncIterator[Container]:
    settings = local_settings.model_copy(update={"database_url": sqlite_database_url})
    async with training_services(settings) as container:
        actor_id = add_actor(container, NAME)
        weights = tmp_path / "in.safetensors"
        weights.write_bytes(lora_bytes())
        await import_file(container, actor_id, weights)
        yield container


def with_settings(container: Container, **update: object) -> Container:
    container.settings = container.settings.model_copy(update=update)
    return container


async def test_comfyui_gets_the_file_in_its_loras_folder(
    services: Container, tmp_path: Path
) -> None:
    folder = tmp_path / "ComfyUI" / "models" / "loras"
    folder.mkdir(parents=True)
    row = current_version(services, 1)
    assert row is not None
    done = await deliver(with_settings(services, comfyui_lora_dir=str(folder)), "comfyui", row)
    assert done.lora_name == FILE
    assert (folder / FILE).read_bytes() == lora_bytes()
    assert sorted(p.name for p in folder.iterdir()) == [FILE]  # no temporary file left


async def test_without_a_route_the_message_names_the_file_and_the_place(
    services: Container,
) -> None:
    with pytest.raises(ValidationError) as comfy:
        await deliver_current(services, 1, FILE, "comfyui")
    assert f"models/{NAME}/{FILE}" in str(comfy.value) and "models/loras" in str(comfy.value)
    with pytest.raises(ValidationError) as runpod:
        await deliver_current(services, 1, FILE, "runpod")
    assert f"models/loras/{FILE}" in str(runpod.value)
    assert "CASTSMITH_RUNPOD_VOLUME_ID" in str(runpod.value)
    # A LoRA typed in by hand is not castsmith's to deliver.
    assert await deliver_current(services, 1, "someone_elses.safetensors", "runpod") is None


async def test_runpod_gets_the_file_on_its_network_volume_or_a_synced_prefix(
    services: Container, s3_server: S3Server
) -> None:
    volume = s3_server.create_bucket("runpodvolume1")
    with_settings(
        services,
        runpod_volume_id=volume,
        runpod_volume_s3_endpoint=s3_server.endpoint,
        runpod_volume_region=S3_TEST_REGION,
        runpod_volume_access_key=SecretStr(S3_TEST_KEY),
        runpod_volume_secret_key=SecretStr(S3_TEST_SECRET),
    )
    done = await deliver_current(services, 1, FILE, "runpod")
    assert done is not None and done.place == f"{volume}/models/loras/{FILE}"
    client = s3_server.boto_client()
    body = client.get_object(Bucket=volume, Key=f"models/loras/{FILE}")["Body"].read()  # type: ignore[attr-defined]
    assert body == lora_bytes()

    with_settings(services, runpod_volume_id="", lora_s3_prefix="sync/loras")
    done = await deliver_current(services, 1, FILE, "runpod")
    assert done is not None and await services.store.get(f"sync/loras/{FILE}") == lora_bytes()
