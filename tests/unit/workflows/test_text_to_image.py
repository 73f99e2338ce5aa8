"""The plain FLUX text-to-image workflow."""

from __future__ import annotations

from typing import Any

import pytest

from castsmith.domain.errors import ValidationError
from castsmith.providers.base import LoraRef, TextToImage
from castsmith.workflows.poster_frame import LoraSpec, PosterParams, build_poster_workflow
from castsmith.workflows.text_to_image import (
    build_text_to_image_workflow,
    image_size,
    text_to_image_workflow,
)

PROMPT = "a red fox sitting in fresh snow, morning light"


def nodes_of(graph: dict[str, dict[str, Any]], class_type: str) -> list[dict[str, Any]]:
    return [node["inputs"] for node in graph.values() if node["class_type"] == class_type]


def test_prompt_is_sent_as_written_at_the_asked_size_and_seed() -> None:
    graph = text_to_image_workflow(
        TextToImage(PROMPT, width=768, height=1344, seed=9, count=2, negative_prompt="blurry")
    )
    texts = [n["text"] for n in nodes_of(graph, "CLIPTextEncode")]
    assert texts == [PROMPT, "blurry"]  # no poster template around the prompt
    latent = nodes_of(graph, "EmptySD3LatentImage")[0]
    assert (latent["width"], latent["height"], latent["batch_size"]) == (768, 1344, 2)
    assert nodes_of(graph, "KSampler")[0]["seed"] == 9
    # Plain FLUX: no style LoRA unless the request names LoRAs.
    assert not nodes_of(graph, "LoraLoader")
    assert nodes_of(graph, "UNETLoader")[0]["unet_name"] == "flux1-dev-fp8.safetensors"
    for node in graph.values():
        for value in node["inputs"].values():
            if isinstance(value, list):
                assert value[0] in graph


def test_named_loras_are_stacked_in_order() -> None:
    request = TextToImage(
        PROMPT,
        seed=1,
        loras=(LoraRef("style_a", 0.7, 0.6), LoraRef("https://host/loras/person_b.safetensors")),
    )
    loras = nodes_of(text_to_image_workflow(request), "LoraLoader")
    assert [(n["lora_name"], n["strength_model"]) for n in loras] == [
        ("style_a.safetensors", 0.7),
        ("person_b.safetensors", 1.0),
    ]


def test_sizes_from_ratio_or_rounded_to_what_flux_accepts() -> None:
    assert image_size(None, None, "16:9") == (1024, 576)
    assert image_size(None, None, "2:3") == (688, 1024)
    assert image_size(None, None, None) == (1024, 1024)
    assert image_size(1000, 100, None) == (1008, 256)
    with pytest.raises(ValidationError, match="aspect ratio"):
        image_size(None, None, "wide")


def test_missing_seed_is_drawn_and_written_and_options_are_honoured() -> None:
    graph = build_text_to_image_workflow(
        PROMPT, options=PosterParams("ignored", model_form="checkpoint", teacache="off", steps=8)
    )
    seed = nodes_of(graph, "KSampler")[0]["seed"]
    assert isinstance(seed, int) and seed >= 0
    assert nodes_of(graph, "CheckpointLoaderSimple") and not nodes_of(graph, "TeaCache")
    assert nodes_of(graph, "KSampler")[0]["steps"] == 8
    assert nodes_of(graph, "CLIPTextEncode")[0]["text"] == PROMPT
    with pytest.raises(ValidationError, match="prompt"):
        build_text_to_image_workflow("  ")


def test_poster_and_text_graphs_share_one_shape() -> None:
    poster = build_poster_workflow(
        PosterParams("a woman", style_lora=None, seed=3, filename_prefix="x")
    )
    plain = build_text_to_image_workflow(
        "a woman", seed=3, options=PosterParams("", style_lora=None, filename_prefix="x")
    )
    # Same nodes and wiring; only the prompt text differs (the poster wraps it).
    assert [n["class_type"] for n in poster.values()] == [n["class_type"] for n in plain.values()]
    poster_text = nodes_of(poster, "CLIPTextEncode")[0]["text"]
    assert poster_text != "a woman" and "a woman" in poster_text
    assert nodes_of(plain, "CLIPTextEncode")[0]["text"] == "a woman"
    assert nodes_of(poster, "KSampler") == nodes_of(plain, "KSampler")


def test_request_with_lora_spec_objects_works_too() -> None:
    graph = build_text_to_image_workflow(PROMPT, seed=2, loras=(LoraSpec("c", 0.5, 0.5),))
    assert nodes_of(graph, "LoraLoader")[0]["lora_name"] == "c.safetensors"
