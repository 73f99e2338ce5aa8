"""Offline provider speed: median time per 1024x1024 image (goal: at most 100 ms).

Run: ``.venv/bin/python -m benchmarks.offline_provider [rounds]`` (default 15).

Each operation goes through the provider as a caller uses it (decode the input, draw,
encode the PNG). Wall time is what a caller waits; CPU time is this process's own
work, which stays meaningful when the machine is shared. The load average is printed
alongside because a busy machine stretches wall time.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

from castsmith.providers.base import ImageToImage, InputImage, TextToImage
from castsmith.providers.offline import OfflineImages

PROMPTS = (
    "a young European woman with long brown hair",
    "an elderly african man with glasses and a beard",
    "0007_asian_35_male, short black hair, studio",
    "a red-haired woman with freckles and earrings on a beach",
)


async def _timed(
    provider: OfflineImages, request: TextToImage | ImageToImage
) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    if isinstance(request, TextToImage):
        await provider.text_to_image(request)
    else:
        await provider.image_to_image(request)
    return time.perf_counter() - wall, time.process_time() - cpu


async def measure(rounds: int = 15) -> dict[str, tuple[float, float]]:
    """Median (wall ms, CPU ms) per operation over ``rounds`` runs, interleaved."""
    provider = OfflineImages()
    base = await provider.text_to_image(TextToImage(PROMPTS[0], seed=0))
    source = (InputImage(base.images[0].data),)
    samples: dict[str, list[tuple[float, float]]] = {
        "text_to_image_1024": [],
        "image_to_image_1024": [],
        "grid_2x2_1024": [],
        "text_grid_2x2_1024": [],
    }
    for index in range(rounds):
        prompt = PROMPTS[index % len(PROMPTS)]
        requests: dict[str, TextToImage | ImageToImage] = {
            "text_to_image_1024": TextToImage(prompt, width=1024, height=1024, seed=index),
            "image_to_image_1024": ImageToImage("same person", source, seed=index),
            "grid_2x2_1024": ImageToImage("a 2x2 grid", source, seed=index),
            "text_grid_2x2_1024": TextToImage(prompt, seed=index, grid=True),
        }
        for name, request in requests.items():
            samples[name].append(await _timed(provider, request))
    return {
        name: (
            statistics.median(w for w, _ in runs) * 1000,
            statistics.median(c for _, c in runs) * 1000,
        )
        for name, runs in samples.items()
    }


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    before = os.getloadavg()
    results = asyncio.run(measure(rounds))
    after = os.getloadavg()
    print(f"rounds: {rounds}, cpus: {os.cpu_count()}")
    print(f"load average (1/5/15 min) before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}")
    print(f"load average (1/5/15 min) after:  {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    for name, (wall, cpu) in results.items():
        print(f"{name}: wall {wall:.1f} ms, cpu {cpu:.1f} ms (median)")


if __name__ == "__main__":
    main()
