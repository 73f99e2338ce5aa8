"""The offline renderer's long hair falls on both sides of the face and leaves the
space under the chin clear, where a block of hair would read as a beard."""

from __future__ import annotations

import numpy as np
import pytest

from castsmith.providers.offline._portrait import render_portrait
from castsmith.providers.offline._traits import parse_traits

SIZE = 512


def hair_share(image: np.ndarray, hair: tuple[int, int, int], box: tuple[float, ...]) -> float:
    """Share of pixels in ``box`` (fractions of the image) that have the hair colour."""
    x0, y0, x1, y1 = (int(v * SIZE) for v in box)
    patch = image[y0:y1, x0:x1, :3].astype(int)
    close = np.abs(patch - np.array(hair)).sum(axis=2) < 12
    return float(close.mean())


@pytest.mark.parametrize("seed", [1, 7, 42, 1234])
def test_long_hair_is_not_drawn_under_the_chin(seed: int) -> None:
    traits = parse_traits("a young European woman with long brown hair and a warm smile")
    assert traits.hair_style == "long"
    image = np.asarray(render_portrait(traits, SIZE, SIZE, seed).convert("RGB"))
    # Under the chin, around the neck: no hair.
    assert hair_share(image, traits.hair, (0.46, 0.70, 0.54, 0.74)) < 0.05
    # Beside the face, down to the shoulders: hair (the head moves a little per seed).
    left = hair_share(image, traits.hair, (0.15, 0.60, 0.45, 0.70))
    right = hair_share(image, traits.hair, (0.55, 0.60, 0.85, 0.70))
    assert left > 0.15 and right > 0.15, (left, right)
