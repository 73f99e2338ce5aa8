"""Recognise an image format and read its pixel size from the first bytes of a file.

Both work on the raw bytes, never on a file name, and never decode pixels: they are how
castsmith refuses a decompression bomb before Pillow allocates anything for it.
"""

from __future__ import annotations

import struct
from typing import Final

from castsmith.domain.errors import ImageError

#: Pillow format name -> MIME type, for the formats castsmith accepts.
CONTENT_TYPES: Final[dict[str, str]] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}

EXPECTED: Final = "JPEG, PNG, WebP or GIF expected"

_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, without a length field.
_STANDALONE_MARKERS: Final = frozenset({0x01, *range(0xD0, 0xDA)})


def sniff_format(data: bytes) -> str | None:
    """Return ``"JPEG"``, ``"PNG"``, ``"WEBP"`` or ``"GIF"`` from the magic bytes, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def sniff_content_type(data: bytes, fallback: str = "application/octet-stream") -> str:
    """The MIME type the magic bytes show, else ``fallback`` (vendors often say octet-stream)."""
    fmt = sniff_format(data)
    return CONTENT_TYPES[fmt] if fmt else fallback


def header_size(data: bytes, fmt: str) -> tuple[int, int]:
    """Read ``(width, height)`` from the header of an image already sniffed as ``fmt``.

    Raises :class:`ImageError` when the header is cut short or malformed.
    """
    try:
        if fmt == "PNG":
            return _png_size(data)
        if fmt == "GIF":
            width, height = struct.unpack("<HH", data[6:10])
            return int(width), int(height)
        if fmt == "WEBP":
            return _webp_size(data)
        if fmt == "JPEG":
            return _jpeg_size(data)
    except struct.error as exc:
        raise ImageError(f"the {_label(fmt)} file is truncated: its header is incomplete") from exc
    raise ImageError(f"unsupported image format {fmt!r} ({EXPECTED})")


def _label(fmt: str) -> str:
    return "WebP" if fmt == "WEBP" else fmt


def _png_size(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise ImageError("the PNG file is damaged: it does not start with an IHDR chunk")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X":
        # Canvas size, stored as 24-bit little-endian values minus one.
        if len(data) < 30:
            raise struct.error("short VP8X chunk")
        return (
            int.from_bytes(data[24:27], "little") + 1,
            int.from_bytes(data[27:30], "little") + 1,
        )
    if chunk == b"VP8L":
        if data[20:21] != b"\x2f":
            raise ImageError("the WebP file is damaged: bad lossless signature")
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ImageError("the WebP file is damaged: bad key frame start code")
        w, h = struct.unpack("<HH", data[26:30])
        return int(w) & 0x3FFF, int(h) & 0x3FFF
    raise ImageError("the WebP file is damaged: unknown first chunk")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    end = len(data)
    while pos < end:
        if data[pos] != 0xFF:
            raise ImageError("the JPEG file is damaged: a marker was expected")
        # Any number of 0xFF fill bytes may precede a marker.
        while pos < end and data[pos] == 0xFF:
            pos += 1
        if pos >= end:
            break
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE_MARKERS:
            continue
        if marker == 0xDA:  # start of scan before any frame header
            raise ImageError("the JPEG file is damaged: no frame header before the scan")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            return int(width), int(height)
        pos += length
    raise struct.error("no frame header")
