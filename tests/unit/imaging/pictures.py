"""Procedural test pictures: photo-like pixels made on the spot, encoded as asked."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def photo(
    width: int, height: int, *, seed: int = 1, tint: tuple[int, int, int] = (0, 0, 0)
) -> Image.Image:
    """An RGB image with gradients, a few shapes and sensor-like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    pixels = np.stack(
        [
            110 + 60 * np.sin(x / max(width, 1) * 3.0) + tint[0],
            100 + 50 * np.cos(y / max(height, 1) * 2.5) + tint[1],
            90 + 40 * np.sin((x + y) / max(width + height, 1) * 4.0) + tint[2],
        ],
        axis=-1,
    )
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = max(2, int(rng.integers(1, max(2, min(width, height) // 4))))
        colour = tuple(int(c) for c in rng.integers(20, 200, 3))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1))
    noisy = np.asarray(image, np.float32) + rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    """``image`` saved in ``fmt`` (a Pillow format name) with ``params``."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    """Open and load ``data``."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def mean_colour(image: Image.Image) -> np.ndarray:
    """Per-channel mean of the RGB pixels."""
    return np.asarray(image.convert("RGB"), np.float64).reshape(-1, 3).mean(axis=0)
