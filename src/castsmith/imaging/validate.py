"""Simple quality checks on an image: big enough, sharp enough."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from castsmith.imaging.decode import DEFAULT_MAX_PIXELS, normalise, open_image

#: Blur is measured on the image shrunk to fit this square, so scores compare across sizes.
BLUR_SIDE: Final = 512
#: Below this variance of the Laplacian an image looks soft or out of focus.
DEFAULT_MIN_SHARPNESS: Final = 100.0


@dataclass(frozen=True, slots=True)
class ImageCheck:
    """The outcome of :func:`check_image`: ``ok`` when ``problems`` is empty."""

    width: int
    height: int
    sharpness: float
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the image passed every check."""
        return not self.problems


def sharpness(image: Image.Image) -> float:
    """Variance of the Laplacian of the greyscale image (higher is sharper)."""
    grey = image.convert("L")
    grey.thumbnail((BLUR_SIDE, BLUR_SIDE), Image.Resampling.BILINEAR)
    pixels: NDArray[np.float64] = np.asarray(grey, dtype=np.float64)
    if pixels.shape[0] < 3 or pixels.shape[1] < 3:
        return 0.0
    # 4-neighbour Laplacian on the interior pixels.
    laplacian = (
        pixels[:-2, 1:-1]
        + pixels[2:, 1:-1]
        + pixels[1:-1, :-2]
        + pixels[1:-1, 2:]
        - 4 * pixels[1:-1, 1:-1]
    )
    return float(laplacian.var())


def check_image(
    data: bytes,
    *,
    min_width: int = 512,
    min_height: int = 512,
    min_sharpness: float = DEFAULT_MIN_SHARPNESS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageCheck:
    """Decode ``data`` and report whether it is large and sharp enough.

    Sizes are those of the upright image (after EXIF orientation). Raises
    :class:`ImageError` when ``data`` is not a usable image at all.
    """
    decoded, _ = open_image(data, max_pixels=max_pixels)
    image = normalise(decoded)
    width, height = image.size
    score = sharpness(image)
    problems = []
    if width < min_width or height < min_height:
        problems.append(f"image is {width}x{height}, smaller than {min_width}x{min_height}")
    if score < min_sharpness:
        problems.append(f"image looks blurred (sharpness {score:.0f} < {min_sharpness:.0f})")
    return ImageCheck(width, height, score, tuple(problems))
