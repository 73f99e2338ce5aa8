"""The poster frame workflow builder."""

from __future__ import annotations

from typing import Any

import pytest

from castsmith.domain.errors import ValidationError
from castsmith.workflows.poster_frame import (
    LoraSpec,
    PosterParams,
    build_poster_workflow,
    workflow_seed,
)


def nodes_of(graph: dict[str, dict[str, Any]], class_type: str) -> list[dict[str, Any]]:
    return [node["inputs"] for node in graph.values() if node["class_type"] == class_type]


def assert_links_resolve(graph: dict[str, dict[str, Any]]) -> None:
    for node in graph.values():
        for value in node["inputs"].values():
            if isinstance(value, list):
                assert value[0] in graph, f"dangling link {value}"


def test_default_graph_is_flux_unet_with_style_and_character_loras() -> None:
    params = PosterParams(
        "a young European woman with long brown hair",
        character_lora=LoraSpec("0001_european_20_female", 0.8, 0.8),
        seed=42,
    )
    graph = build_poster_workflow(params)
    assert_links_resolve(graph)
    assert nodes_of(graph, "UNETLoader")[0]["unet_name"] == "flux1-dev-fp8.safetensors"
    loras = nodes_of(graph, "LoraLoader")
    assert [lora["lora_name"] for lora in loras] == [
        "SBai_style_101.safetensors",
        "0001_european_20_female.safetensors",
    ]
    assert loras[1]["strength_model"] == 0.8
    sampler = nodes_of(graph, "KSampler")[0]
    assert (sampler["seed"], sampler["steps"], sampler["cfg"]) == (42, 25, 1.0)
    assert (sampler["sampler_name"], sampler["scheduler"]) == ("euler", "simple")
    latent = nodes_of(graph, "EmptySD3LatentImage")[0]
    assert (latent["width"], latent["height"]) == (1024, 1024)
    prompt = nodes_of(graph, "CLIPTextEncode")[0]["text"]
    assert "long brown hair" in prompt
    assert "direct eye contact" in prompt
    assert "cel shading" in prompt
    # TeaCache sits after the LoRA stack and feeds the sampler.
    teacache_id = next(k for k, n in graph.items() if n["class_type"] == "TeaCache")
    assert sampler["model"] == [teacache_id, 0]
    assert workflow_seed(graph) == 42


def test_checkpoint_form_legacy_teacache_and_model_only_loras() -> None:
    params = PosterParams(
        "a robot",
        character_lora=LoraSpec("robot.safetensors", 1.1),
        model_form="checkpoint",
        teacache="legacy",
        lora_clip=False,
        width=768,
        height=1344,
        steps=18,
        guidance=4.0,
        seed=7,
    )
    graph = build_poster_workflow(params)
    assert_links_resolve(graph)
    assert nodes_of(graph, "CheckpointLoaderSimple")
    assert not nodes_of(graph, "UNETLoader")
    assert nodes_of(graph, "TeaCacheForImgGen")
    assert len(nodes_of(graph, "LoraLoaderModelOnly")) == 2
    assert nodes_of(graph, "FluxGuidance")[0]["guidance"] == 4.0
    encoders = nodes_of(graph, "CLIPTextEncode")
    ckpt_id = next(k for k, n in graph.items() if n["class_type"] == "CheckpointLoaderSimple")
    assert encoders[0]["clip"] == [ckpt_id, 1]


def test_teacache_can_be_left_out_and_no_character_lora() -> None:
    graph = build_poster_workflow(PosterParams("a knight", teacache="off", seed=1))
    assert not nodes_of(graph, "TeaCache")
    assert len(nodes_of(graph, "LoraLoader")) == 1


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"width": 1000}, "width"),
        ({"steps": 0}, "steps"),
        ({"sampler": "magic"}, "sampler"),
        ({"description": "   "}, "description"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters_name_the_field(override: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"description": "a knight", "seed": 1, **override}
    with pytest.raises(ValidationError) as caught:
        build_poster_workflow(PosterParams(**values))
    assert caught.value.field == field
