"""Read a ComfyUI API-format graph for what the offline renderer can draw."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from castsmith.domain.errors import InvalidRequest
from castsmith.providers.offline._common import image_size, stable_seed

_LATENTS = {"EmptyLatentImage", "EmptySD3LatentImage", "EmptyHunyuanLatentVideo"}


def _text_of(node: Mapping[str, Any]) -> str:
    inputs = node.get("inputs") or {}
    for key in ("text", "t5xxl", "clip_l", "prompt"):
        if isinstance(inputs.get(key), str):
            return str(inputs[key])
    return ""


def read_graph(workflow: Mapping[str, Any]) -> tuple[str, int, int, int, int]:
    """Prompt, width, height, batch size and seed from a ComfyUI API-format graph."""
    nodes = {str(k): v for k, v in workflow.items() if isinstance(v, dict)}
    prompt = ""
    # Follow the sampler's positive conditioning back to its text encoder.
    for node in nodes.values():
        link = (node.get("inputs") or {}).get("positive") or (node.get("inputs") or {}).get(
            "conditioning"
        )
        seen = 0
        while isinstance(link, list) and len(link) == 2 and seen < 10 and not prompt:
            source = nodes.get(str(link[0]), {})
            prompt = _text_of(source) if source.get("class_type", "").startswith("CLIPText") else ""
            link = (source.get("inputs") or {}).get("conditioning")
            seen += 1
        if prompt:
            break
    if not prompt:
        texts = [_text_of(n) for n in nodes.values() if "TextEncode" in n.get("class_type", "")]
        prompt = max(texts, key=len, default="")
    if not prompt:
        raise InvalidRequest("the workflow has no CLIPTextEncode prompt to draw from", "offline")
    width = height = 1024
    batch = 1
    for node in nodes.values():
        if node.get("class_type") in _LATENTS:
            inputs = node.get("inputs") or {}
            width = int(inputs.get("width", width))
            height = int(inputs.get("height", height))
            batch = int(inputs.get("batch_size", 1))
    seed = None
    for node in nodes.values():
        inputs = node.get("inputs") or {}
        for key in ("seed", "noise_seed"):
            if isinstance(inputs.get(key), int):
                seed = int(inputs[key])
    if seed is None:
        seed = stable_seed(prompt)
    width, height = image_size(width, height, None)
    return prompt, width, height, max(1, batch), seed % (2**32)
