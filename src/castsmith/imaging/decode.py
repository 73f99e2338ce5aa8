"""Open image bytes safely and bring them to a canonical, metadata-free form.

``open_image`` is the single door through which every imaging function reads bytes:
it sniffs the format, refuses decompression bombs from the header, maps Pillow's many
exception types to :class:`ImageError`, and decodes fully so truncation shows up here.
``normalise`` then applies the EXIF orientation, converts embedded colour profiles to
sRGB and drops all metadata, so whatever is written afterwards carries none of it.
"""

from __future__ import annotations

import contextlib
import io
import struct
from typing import Final

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from castsmith.domain.errors import DecompressionBomb, ImageError
from castsmith.imaging.sniff import EXPECTED, header_size, sniff_format

DEFAULT_MAX_PIXELS: Final = 64_000_000

_SRGB: Final = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Raise :class:`DecompressionBomb` when ``width * height`` is above ``max_pixels``."""
    pixels = width * height
    if pixels > max_pixels:
        raise DecompressionBomb(
            f"image is {width}x{height} = {_amount(pixels)}, above the {_amount(max_pixels)} limit"
        )


def _amount(pixels: int) -> str:
    if pixels >= 10_000_000:
        return f"{pixels / 1_000_000:.0f} Mpx"
    if pixels >= 100_000:
        return f"{pixels / 1_000_000:.1f} Mpx"
    return f"{pixels} px"


def open_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_box: tuple[int, int] | None = None,
) -> tuple[Image.Image, str]:
    """Decode ``data`` and return ``(image, format)``; the image's pixels are loaded.

    ``draft_box`` lets the JPEG decoder scale down by 1/2, 1/4 or 1/8 while decoding, as
    long as the result still covers the box; other formats ignore it.
    """
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageError(f"the file is not an image ({EXPECTED})")
    width, height = header_size(data, fmt)
    if width <= 0 or height <= 0:
        raise ImageError(f"the image header gives an empty size ({width}x{height})")
    check_pixels(width, height, max_pixels)
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
        check_pixels(image.width, image.height, max_pixels)
        if draft_box is not None and fmt == "JPEG":
            image.draft(None, draft_box)
        image.load()
    except Image.DecompressionBombError as exc:
        raise DecompressionBomb(f"image is {width}x{height}, too large to decode: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"the file looks like {fmt} but cannot be read ({EXPECTED})") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        # Pillow reports truncation and corruption through all of these.
        raise ImageError(f"the {fmt} file is truncated or damaged: {exc}") from exc
    return image, fmt


def normalise(image: Image.Image) -> Image.Image:
    """Upright, sRGB, ``RGB`` or ``RGBA`` (when it has transparency), with no metadata."""
    # Unreadable EXIF: show the pixels as stored rather than refuse the image.
    with contextlib.suppress(SyntaxError, ValueError, OSError, KeyError, TypeError, struct.error):
        ImageOps.exif_transpose(image, in_place=True)
    image = _to_srgb(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit greyscale PNGs: keep the high byte rather than clip at 255.
        wide = np.asarray(image, dtype=np.uint32)
        image = Image.fromarray((wide >> 8).clip(0, 255).astype(np.uint8), "L")
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    image.info = {}
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower().replace(" ", ""):
            return image
        if image.mode in ("RGB", "RGBA"):
            out_mode = image.mode
        elif image.mode in ("CMYK", "L"):
            out_mode = "RGB"
        else:
            return image
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A broken or exotic profile: the pixels as stored are the best we have.
        return image
    return converted if converted is not None else image
