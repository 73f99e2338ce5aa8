"""A plain FLUX text-to-image ComfyUI workflow for prompts sent to RunPod or ComfyUI.

The same graph as the poster frame (:func:`castsmith.workflows.poster_frame.build_flux_graph`)
with the caller's prompt as written, no poster template and no style LoRA unless asked.
Requests are read structurally (anything with a prompt, a size or aspect ratio, a seed,
a count, a negative prompt and LoRAs), so this module stays free of provider types.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

from castsmith.domain.errors import ValidationError
from castsmith.workflows.poster_frame import LoraSpec, PosterParams, Workflow, build_flux_graph

LONG_SIDE = 1024
MIN_SIDE, MAX_SIDE = 256, 2048
MAX_BATCH = 16
FILENAME_PREFIX = "castsmith_text_to_image"


class LoraLike(Protocol):
    """A LoRA a request names: a file name on the server (or a URL ending in one)."""

    @property
    def name_or_url(self) -> str: ...
    @property
    def strength_model(self) -> float: ...
    @property
    def strength_clip(self) -> float: ...


class TextToImageLike(Protocol):
    """What the builder reads from a text-to-image request."""

    @property
    def prompt(self) -> str: ...
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def aspect_ratio(self) -> str | None: ...
    @property
    def seed(self) -> int | None: ...
    @property
    def count(self) -> int: ...
    @property
    def negative_prompt(self) -> str: ...
    @property
    def loras(self) -> Sequence[LoraLike]: ...


def _side(value: float) -> int:
    """The nearest multiple of 16 (halves round up) in the range FLUX latents accept."""
    return max(MIN_SIDE, min(MAX_SIDE, int(value / 16 + 0.5) * 16))


def image_size(width: int | None, height: int | None, aspect_ratio: str | None) -> tuple[int, int]:
    """Width and height for the latent: given sizes, else the ratio, else 1024 square."""
    if width and height:
        return _side(width), _side(height)
    if aspect_ratio:
        try:
            w, h = (float(part) for part in aspect_ratio.split(":"))
        except ValueError:
            raise ValidationError(
                f"aspect ratio must look like 16:9; got {aspect_ratio!r}", "aspect_ratio"
            ) from None
        if w <= 0 or h <= 0:
            raise ValidationError("aspect ratio sides must be positive", "aspect_ratio")
        ratio = w / h
        if ratio >= 1:
            return _side(LONG_SIDE), _side(LONG_SIDE / ratio)
        return _side(LONG_SIDE * ratio), _side(LONG_SIDE)
    return LONG_SIDE, LONG_SIDE


def build_text_to_image_workflow(
    prompt: str,
    *,
    width: int = LONG_SIDE,
    height: int = LONG_SIDE,
    seed: int | None = None,
    negative_prompt: str = "",
    loras: Sequence[LoraSpec] = (),
    batch_size: int = 1,
    options: PosterParams | None = None,
) -> Workflow:
    """The API-format graph drawing ``prompt`` at ``width`` x ``height``.

    ``options`` carries the model, sampling and TeaCache choices (the poster defaults
    otherwise); its description, trigger word and LoRAs are not used. A missing seed is
    drawn at random and written into the graph, so the result can be reproduced.
    """
    if not prompt.strip():
        raise ValidationError("the prompt is empty", "prompt")
    base = options or PosterParams(prompt, style_lora=None, filename_prefix=FILENAME_PREFIX)
    params = dataclasses.replace(
        base, description=prompt, width=width, height=height, seed=seed, character_lora=None
    )
    params.validate()
    batch = max(1, min(MAX_BATCH, batch_size))
    return build_flux_graph(
        params, prompt, tuple(loras), negative=negative_prompt, batch_size=batch
    )


def text_to_image_workflow(request: TextToImageLike) -> Workflow:
    """The graph for a text-to-image request: the builder RunPod and ComfyUI are given."""
    width, height = image_size(request.width, request.height, request.aspect_ratio)
    loras = tuple(
        LoraSpec(lora.name_or_url, lora.strength_model, lora.strength_clip)
        for lora in request.loras
    )
    return build_text_to_image_workflow(
        request.prompt,
        width=width,
        height=height,
        seed=request.seed,
        negative_prompt=request.negative_prompt,
        loras=loras,
        batch_size=request.count,
    )
