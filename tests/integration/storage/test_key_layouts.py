"""``CASTSMITH_KEY_LAYOUTS`` decides where every flow stores its files.

An operator who configures the layouts finds the base image, the training images, the
persona images and the LoRA weights under the configured keys in the bucket, and
nothing under the built-in defaults.
"""

from __future__ import annotations

from typing import Any

from castsmith.config import Settings
from tests.conftest import S3Server
from tests.harness import running_app
from tests.integration.auth.probes import png, safetensors

LAYOUTS = {
    "base_image": "studio/bases/{actor_name}-base.jpg",
    "training_image": "studio/training/{actor_name}/img-{n}.jpg",
    "persona_base": "studio/personas/{task_id}/{result_id}/selfie.png",
    "persona_image": "studio/personas/{task_id}/{result_id}/look-{i}.png",
    "lora_weights": "studio/loras/{actor_name}/weights-v{version}.safetensors",
    # A new LoRA version queues its test grid: it must not land under the defaults either.
    "lora_test_image": "studio/loras/{actor_name}/grid-v{version}/{n}.png",
    "lora_dataset": "studio/loras/{actor_name}/dataset-v{version}.zip",
}


def bucket_keys(server: S3Server, bucket: str) -> list[str]:
    """Every key in the bucket, as ``aws s3 ls --recursive`` would show them."""
    client: Any = server.boto_client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


async def test_a_configured_layout_is_used_by_every_flow(
    s3_settings: Settings, s3_server: S3Server, s3_bucket: str, sqlite_database_url: str
) -> None:
    settings = s3_settings.model_copy(
        update={"database_url": sqlite_database_url, "key_layouts": LAYOUTS}
    )
    async with running_app(settings) as env:
        http = env.client
        actor = await env.create_actor("0001_layout_30_female")
        base = await http.put(
            f"/api/actors/{actor}/base-image", files={"file": ("a.png", png(), "image/png")}
        )
        assert base.status_code == 200, base.text
        single = await http.post(
            f"/api/actors/{actor}/training-data/generate-single?wait=60",
            json={"prompt": "a portrait in soft light"},
        )
        assert single.is_success, single.text
        if "job_id" in single.json():
            assert (await env.wait_job(single.json()["job_id"], 60))["status"] == "completed"
        task = (await http.post("/api/persona-tasks", json={"count": 1})).json()
        persona = await env.wait_job(task["job_id"], 120)
        assert persona["status"] == "completed", persona
        lora = await http.post(
            f"/api/actors/{actor}/lora",
            files={"file": ("a.safetensors", safetensors(), "application/octet-stream")},
            data={"trigger_word": "ohwx"},
        )
        assert lora.status_code == 201, lora.text
        keys = bucket_keys(s3_server, s3_bucket)

    name = "0001_layout_30_female"
    assert f"studio/bases/{name}-base.jpg" in keys, keys
    assert f"studio/training/{name}/img-1.jpg" in keys, keys
    assert f"studio/loras/{name}/weights-v1.safetensors" in keys, keys
    personas = [key for key in keys if key.startswith("studio/personas/")]
    assert [key.rsplit("/", 1)[1] for key in personas] == [
        "look-0.png",
        "look-1.png",
        "look-2.png",
        "look-3.png",
        "selfie.png",
    ], keys
    # Nothing of these kinds went to the built-in places.
    defaults = ("system_actors/", "avatars/", "models/")
    assert [key for key in keys if key.startswith(defaults)] == [], keys
