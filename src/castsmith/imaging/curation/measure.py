"""Sharpness, exposure and a 64-bit perceptual hash, measured on a working-size image.

Every figure is taken on the image scaled to :data:`WORKING_SIDE` on its long side
(keeping the aspect ratio), so a 4000 px photograph and its 1024 px copy score alike:
the variance of the Laplacian in particular grows with resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

#: The long side of the image the checks look at.
WORKING_SIDE: Final = 512
#: Luminance at or below / at or above these counts as clipped shadow / highlight.
CLIP_LOW: Final = 2
CLIP_HIGH: Final = 253
_HASH_SIDE: Final = 32
_HASH_BITS_SIDE: Final = 8


@dataclass(frozen=True, slots=True)
class Quality:
    """Sharpness (variance of the Laplacian), exposure (mean luminance 0-255 and the
    share of clipped pixels) and the perceptual hash (16 hex digits)."""

    sharpness: float
    exposure_mean: float
    exposure_clipped: float
    phash: str


def working_image(image: Image.Image) -> Image.Image:
    """An RGB copy scaled (down or up) to :data:`WORKING_SIDE` on its long side.

    Small images are scaled up too, so a low-resolution copy scores as soft as it looks
    at that size, and small faces get the pixels the detector needs.
    """
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    scale = WORKING_SIDE / max(rgb.width, rgb.height)
    # Squashing to a square would lose faces: keep the proportions.
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    return rgb.resize(size, Image.Resampling.BILINEAR) if size != rgb.size else rgb.copy()


def laplacian_variance(grey: NDArray[np.int32] | NDArray[np.float64]) -> float:
    """Variance of the 4-neighbour Laplacian over the interior pixels.

    Integer grey levels can be passed as int32: the Laplacian is then exact integer
    arithmetic and the variance the same as from floats, without the float copy.
    """
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    laplacian = (
        grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    )
    return float(laplacian.var())


def _dct_matrix(n: int) -> NDArray[np.float64]:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    matrix: NDArray[np.float64] = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT: Final = _dct_matrix(_HASH_SIDE)


def perceptual_hash(grey_image: Image.Image) -> str:
    """The 64-bit DCT hash of a greyscale image, as 16 hex digits.

    The image is reduced to 32x32, its 2-D DCT taken, and the 8x8 lowest frequencies
    compared with their median: resizing, recompression and mild colour changes leave
    the bits almost unchanged.
    """
    small = grey_image.resize((_HASH_SIDE, _HASH_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    freq = _DCT @ pixels @ _DCT.T
    low = freq[:_HASH_BITS_SIDE, :_HASH_BITS_SIDE].flatten()
    bits = low > np.median(low)
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def measure(work: Image.Image) -> Quality:
    """Measure a working-size RGB image (see :func:`working_image`)."""
    grey_image = work.convert("L")
    # uint8 for the counts and the mean, int32 for the Laplacian (whose values reach
    # +-1020): the same figures as from a float64 copy, at less cost.
    grey = np.asarray(grey_image, dtype=np.uint8)
    clipped = float(np.count_nonzero((grey <= CLIP_LOW) | (grey >= CLIP_HIGH))) / grey.size
    return Quality(
        sharpness=round(laplacian_variance(grey.astype(np.int32)), 2),
        exposure_mean=round(float(grey.mean()), 2),
        exposure_clipped=round(clipped, 4),
        phash=perceptual_hash(grey_image),
    )
