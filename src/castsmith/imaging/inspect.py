"""What an image file is: format, size and content hashes, read from its bytes alone."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from castsmith.domain.errors import ImageError
from castsmith.imaging.decode import DEFAULT_MAX_PIXELS, check_pixels, open_image
from castsmith.imaging.sniff import CONTENT_TYPES, EXPECTED, header_size, sniff_format


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """Facts about one image file; ``width`` and ``height`` are as stored, before EXIF
    orientation is applied."""

    format: str  # Pillow's name: "JPEG", "PNG", "WEBP" or "GIF"
    content_type: str
    width: int
    height: int
    size_bytes: int
    md5: str
    sha256: str

    @property
    def extension(self) -> str:
        """The usual file extension for the format, without the dot."""
        return {"JPEG": "jpg"}.get(self.format, self.format.lower())


def hashes(data: bytes) -> tuple[str, str]:
    """Return the hex ``(md5, sha256)`` digests of ``data``."""
    # md5 identifies files in manifests that predate castsmith; it is not a security check.
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return md5, hashlib.sha256(data).hexdigest()


def inspect_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, decode: bool = True
) -> ImageInfo:
    """Identify ``data`` as an image and describe it.

    The format is sniffed from the bytes, the pixel count is checked against
    ``max_pixels`` from the header before anything is decoded, and (with ``decode``,
    the default) the pixels are decoded once so that truncated files are refused too.
    Raises :class:`ImageError` or its subclass :class:`DecompressionBomb`.
    """
    if decode:
        image, fmt = open_image(data, max_pixels=max_pixels)
        width, height = image.size
        image.close()
    else:
        sniffed = sniff_format(data)
        if sniffed is None:
            raise ImageError(f"the file is not an image ({EXPECTED})")
        fmt = sniffed
        width, height = header_size(data, fmt)
        check_pixels(width, height, max_pixels)
    md5, sha256 = hashes(data)
    return ImageInfo(
        format=fmt,
        content_type=CONTENT_TYPES[fmt],
        width=width,
        height=height,
        size_bytes=len(data),
        md5=md5,
        sha256=sha256,
    )
