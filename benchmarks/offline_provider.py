"""Offline provider speed: median wall time per 1024x1024 image (goal: at most 100 ms).

Run: ``.venv/bin/python -m benchmarks.offline_provider``
"""

from __future__ import annotations

import asyncio
import statistics
import time

from castsmith.providers.base import ImageToImage, InputImage, TextToImage
from castsmith.providers.offline import OfflineImages

PROMPTS = (
    "a young European woman with long brown hair",
    "an elderly african man with glasses and a beard",
    "0007_asian_35_male, short black hair, studio",
    "a red-haired woman with freckles and earrings on a beach",
)


async def measure(rounds: int = 20) -> dict[str, float]:
    provider = OfflineImages()
    text_times: list[float] = []
    variation_times: list[float] = []
    grid_times: list[float] = []
    base = await provider.text_to_image(TextToImage(PROMPTS[0], seed=0))
    source = (InputImage(base.images[0].data),)
    for index in range(rounds):
        prompt = PROMPTS[index % len(PROMPTS)]
        start = time.perf_counter()
        await provider.text_to_image(TextToImage(prompt, width=1024, height=1024, seed=index))
        text_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        await provider.image_to_image(ImageToImage("same person", source, seed=index))
        variation_times.append(time.perf_counter() - start)
        if index < 5:
            start = time.perf_counter()
            await provider.image_to_image(ImageToImage("a 2x2 grid", source, seed=index))
            grid_times.append(time.perf_counter() - start)
    return {
        "text_to_image_1024_ms": statistics.median(text_times) * 1000,
        "image_to_image_1024_ms": statistics.median(variation_times) * 1000,
        "grid_2x2_1024_ms": statistics.median(grid_times) * 1000,
    }


def main() -> None:
    for name, value in asyncio.run(measure()).items():
        print(f"{name}: {value:.1f} (median)")


if __name__ == "__main__":
    main()
