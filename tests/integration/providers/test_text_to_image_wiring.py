"""RunPod and ComfyUI make images from text through the container's workflow builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from castsmith.cli import app
from castsmith.config import Settings
from castsmith.providers.base import TextToImage
from castsmith.providers.registry import providers_from_settings
from tests.fakes import FakeComfyUI, FakeRunPod
from tests.harness import operator_container

PROMPT = "portrait of a lighthouse keeper with a grey beard, stormy sea behind him"


def _nodes(graph: dict[str, dict[str, Any]], class_type: str) -> list[dict[str, Any]]:
    return [n["inputs"] for n in graph.values() if n["class_type"] == class_type]


async def test_runpod_receives_a_graph_with_the_prompt_and_size(
    local_settings: Settings, runpod_fake: FakeRunPod
) -> None:
    settings = local_settings.model_copy(
        update={"runpod_api_key": runpod_fake.api_key, "runpod_endpoint_url": runpod_fake.base}
    )
    container = operator_container(settings)
    try:
        runpod = container.providers.image("runpod")
        assert runpod.capabilities.text_to_image
        result = await runpod.text_to_image(TextToImage(PROMPT, width=832, height=1216, seed=21))
    finally:
        container.close()
    assert result.images and result.provenance.seed == 21
    graph = runpod_fake.calls_to(f"/v2/{runpod_fake.endpoint_id}/run")[0].json()["input"][
        "workflow"
    ]
    assert _nodes(graph, "CLIPTextEncode")[0]["text"] == PROMPT
    latent = _nodes(graph, "EmptySD3LatentImage")[0]
    assert (latent["width"], latent["height"]) == (832, 1216)
    assert _nodes(graph, "KSampler")[0]["seed"] == 21


async def test_comfyui_gets_the_builder_and_without_one_text_is_refused(
    local_settings: Settings, comfy_fake: FakeComfyUI, http: httpx.AsyncClient
) -> None:
    settings = local_settings.model_copy(update={"comfyui_url": comfy_fake.url})
    container = operator_container(settings)
    try:
        assert container.providers.image("comfyui").capabilities.text_to_image
    finally:
        container.close()
    bare = providers_from_settings(settings, http)
    assert not bare.image("comfyui").capabilities.text_to_image


def test_generate_from_a_prompt_on_runpod(tmp_path: Path) -> None:
    with FakeRunPod(polls_before_done=0) as fake:
        args = ["generate", "--provider", "runpod", "--prompt", PROMPT, "--size", "1024x768"]
        result = CliRunner().invoke(
            app,
            [*args, "--seed", "4", "--out", str(tmp_path / "out")],
            env={
                "CASTSMITH_DATA_DIR": str(tmp_path),
                "CASTSMITH_RUNPOD_API_KEY": fake.api_key,
                "CASTSMITH_RUNPOD_ENDPOINT_URL": fake.base,
            },
        )
        assert result.exit_code == 0, result.output
        graph = fake.calls_to("/v2/ep-test/run")[0].json()["input"]["workflow"]
    assert _nodes(graph, "CLIPTextEncode")[0]["text"] == PROMPT
    latent = _nodes(graph, "EmptySD3LatentImage")[0]
    assert (latent["width"], latent["height"]) == (1024, 768)
    assert list((tmp_path / "out").iterdir())
