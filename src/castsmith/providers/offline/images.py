"""Offline images: deterministic portraits, variations, 2x2 grids and graph runs."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from typing import Any

from PIL import Image, UnidentifiedImageError

from castsmith.domain.errors import InvalidRequest
from castsmith.providers import usage
from castsmith.providers.base import (
    Capabilities,
    GeneratedImage,
    ImageProvider,
    ImageResult,
    ImageToImage,
    ProgressCallback,
    Provenance,
    RemoteCall,
    RunWorkflow,
    TextToImage,
    report,
)
from castsmith.providers.offline._common import MODEL, image_size, stable_seed, wants_grid
from castsmith.providers.offline._graph import read_graph
from castsmith.providers.offline._portrait import (
    encode_png,
    grid,
    grid_cell_size,
    render_portrait,
    vary,
)
from castsmith.providers.offline._traits import parse_traits


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
        self,
        request: TextToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Portraits of the described character; a 2x2 grid when asked for one."""
        width, height = image_size(request.width, request.height, request.aspect_ratio)
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
        self,
        request: ImageToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
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
        width, height = image_size(
            request.width or source.width, request.height or source.height, None
        )
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
        self,
        request: RunWorkflow,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
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
        usage.note(images=len(images))
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
