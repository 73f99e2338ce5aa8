"""The offline provider: castsmith's default when no remote keys are configured.

A real code path, not a test double: it draws deterministic stylised portraits from
the description (same request and seed, same bytes), varies input images while
keeping the character recognisable, draws 2x2 grids with white gutters, runs ComfyUI
API-format graphs by reading their prompt, size and seed, and writes persona data with
Faker. Every image is labelled as placeholder art in provenance and in a PNG text
chunk (``castsmith:placeholder``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import time
from collections.abc import Mapping
from typing import Any

from PIL import Image, UnidentifiedImageError

from castsmith.domain.errors import InvalidRequest
from castsmith.providers._persona import persona_json
from castsmith.providers._portrait import encode_png, grid, grid_cell_size, render_portrait, vary
from castsmith.providers._support import conform, size_for_ratio
from castsmith.providers._traits import parse_traits
from castsmith.providers.base import (
    Capabilities,
    GeneratedImage,
    ImageProvider,
    ImageResult,
    ImageToImage,
    ProgressCallback,
    Provenance,
    RunWorkflow,
    TextProvider,
    TextRequest,
    TextResult,
    TextToImage,
    report,
)

MODEL = "castsmith-offline-1"
MAX_SIDE = 2048
_GRID_WORDS = re.compile(r"\b(2\s*x\s*2|grid|four[- ]panel|4[- ]panel|contact sheet)\b", re.I)
_LATENTS = {"EmptyLatentImage", "EmptySD3LatentImage", "EmptyHunyuanLatentVideo"}


def stable_seed(*parts: object) -> int:
    """A seed derived from the request when none was given (stable across runs)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def wants_grid(prompt: str, flag: bool) -> bool:
    """True when the flag is set or the prompt asks for a 2x2 grid."""
    return flag or bool(_GRID_WORDS.search(prompt))


def _size(width: int | None, height: int | None, ratio: str | None) -> tuple[int, int]:
    if width and height:
        w, h = width, height
    elif ratio:
        w, h = size_for_ratio(ratio)
    else:
        w, h = 1024, 1024
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise InvalidRequest(
            f"offline images must be 16..{MAX_SIDE} px a side; got {w}x{h}", "offline"
        )
    return w, h


class OfflineImages(ImageProvider):
    """Deterministic procedural images that work with no network and no keys."""

    name = "offline"
    capabilities = Capabilities(
        text_to_image=True,
        image_to_image=True,
        workflow=True,
        max_images=8,
        sizes=("512x512", "1024x1024", "1536x1024", "1024x1536"),
        aspect_ratios=("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"),
    )

    @property
    def model(self) -> str:
        return MODEL

    async def text_to_image(
        self, request: TextToImage, progress: ProgressCallback | None = None
    ) -> ImageResult:
        """Portraits of the described character; a 2x2 grid when asked for one."""
        width, height = _size(request.width, request.height, request.aspect_ratio)
        seed = request.seed if request.seed is not None else stable_seed(request.prompt)
        as_grid = wants_grid(request.prompt, request.grid)
        return await self._run(
            lambda i: self._portrait(request.prompt, width, height, seed + i, as_grid),
            request.count,
            seed,
            progress,
        )

    def _portrait(self, prompt: str, width: int, height: int, seed: int, as_grid: bool) -> bytes:
        traits = parse_traits(prompt)
        if as_grid:
            # Cells are drawn at their final size: a quarter of the work, no rescaling.
            cw, ch = grid_cell_size(width, height)
            cells = [render_portrait(traits, cw, ch, seed * 4 + k) for k in range(4)]
            return encode_png(grid(cells, width, height), "offline 2x2 grid")
        return encode_png(render_portrait(traits, width, height, seed), "offline portrait")

    async def image_to_image(
        self, request: ImageToImage, progress: ProgressCallback | None = None
    ) -> ImageResult:
        """Variations of the first input image; a 2x2 grid of four when asked."""
        if not request.images:
            raise InvalidRequest("offline image-to-image needs an input image", "offline")
        try:
            opened = Image.open(io.BytesIO(request.images[0].data))
            opened.load()
            # Convert once here rather than once per variation or grid cell.
            source = opened if opened.mode == "RGB" else opened.convert("RGB")
        except (UnidentifiedImageError, OSError):
            raise InvalidRequest("the input image could not be read", "offline") from None
        width, height = _size(request.width or source.width, request.height or source.height, None)
        seed = (
            request.seed
            if request.seed is not None
            else stable_seed(request.prompt, hashlib.sha256(request.images[0].data).hexdigest())
        )
        tint = parse_traits(request.prompt + f" seed {seed}").background[0]
        as_grid = wants_grid(request.prompt, request.grid)

        def make(index: int) -> bytes:
            if as_grid:
                cw, ch = grid_cell_size(width, height)
                cells = [vary(source, cw, ch, (seed + index) * 4 + k, tint) for k in range(4)]
                return encode_png(grid(cells, width, height), "offline 2x2 grid")
            return encode_png(vary(source, width, height, seed + index, tint), "offline variation")

        return await self._run(make, request.count, seed, progress)

    async def run_workflow(
        self, request: RunWorkflow, progress: ProgressCallback | None = None
    ) -> ImageResult:
        """Read the prompt, size, batch and seed out of the graph and draw portraits."""
        prompt, width, height, batch, seed = read_graph(request.workflow)
        return await self._run(
            lambda i: self._portrait(prompt, width, height, seed + i, False), batch, seed, progress
        )

    async def _run(
        self, make: Any, count: int, seed: int, progress: ProgressCallback | None
    ) -> ImageResult:
        started = time.monotonic()
        images: list[GeneratedImage] = []
        total = max(1, min(count, self.capabilities.max_images))
        for index in range(total):
            # Drawing is CPU work: keep the event loop free for heartbeats.
            data = await asyncio.to_thread(make, index)
            images.append(GeneratedImage(data, "image/png", seed + index))
            await report(progress, (index + 1) / total, f"drew image {index + 1} of {total}")
        return ImageResult(
            images=tuple(images),
            provenance=Provenance(
                provider=self.name,
                model=MODEL,
                seed=seed,
                provider_job_id=None,
                timings={"total": round(time.monotonic() - started, 4)},
                placeholder=True,
            ),
        )

    async def check(self) -> str:
        """Always available."""
        return "built in: placeholder art drawn locally, no network needed"


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
    width, height = _size(width, height, None)
    return prompt, width, height, max(1, batch), seed % (2**32)


class OfflineText(TextProvider):
    """Persona data and image prompts from Faker and curated templates."""

    name = "offline"

    async def generate_json(
        self, request: TextRequest, progress: ProgressCallback | None = None
    ) -> TextResult:
        """Fill the requested schema with locale-aware persona data."""
        seed = request.seed if request.seed is not None else stable_seed(request.prompt)
        started = time.monotonic()
        data = persona_json(request, seed)
        await report(progress, 1.0, "persona data written")
        return TextResult(
            data=conform(data, request.schema, self.name),
            provenance=Provenance(
                provider=self.name,
                model=MODEL,
                seed=seed,
                timings={"total": round(time.monotonic() - started, 4)},
                placeholder=True,
            ),
        )

    async def check(self) -> str:
        """Always available."""
        return "built in: Faker persona data, no network needed"
