"""Format sniffing, header sizes and inspection, including the refusals."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest
from PIL import Image

from castsmith.domain.errors import DecompressionBomb, ImageError
from castsmith.imaging import hashes, inspect_image, sniff_format
from castsmith.imaging.sniff import header_size

from .pictures import encode, photo

IMAGE = photo(321, 123)

CASES = [
    ("JPEG", "image/jpeg", {"quality": 90}),
    ("JPEG", "image/jpeg", {"progressive": True}),
    ("PNG", "image/png", {}),
    ("WEBP", "image/webp", {"quality": 80}),  # lossy: VP8 chunk
    ("WEBP", "image/webp", {"lossless": True}),  # VP8L chunk
    ("GIF", "image/gif", {}),
]


@pytest.mark.parametrize(("fmt", "content_type", "params"), CASES)
def test_inspect_reads_format_size_and_hashes(fmt: str, content_type: str, params: dict) -> None:
    data = encode(IMAGE, fmt, **params)
    info = inspect_image(data)
    assert (info.format, info.content_type) == (fmt, content_type)
    assert (info.width, info.height) == (321, 123)
    assert info.size_bytes == len(data)
    assert info.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert header_size(data, fmt) == (321, 123)


def test_webp_with_alpha_uses_extended_header() -> None:
    rgba = IMAGE.convert("RGBA")
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    data = encode(rgba, "WEBP")
    assert data[12:16] == b"VP8X"
    assert inspect_image(data).width == 321


def test_extension_follows_the_format() -> None:
    assert inspect_image(encode(IMAGE, "JPEG")).extension == "jpg"
    assert inspect_image(encode(IMAGE, "WEBP")).extension == "webp"


def test_sniffing_ignores_anything_but_the_bytes() -> None:
    assert sniff_format(encode(IMAGE, "PNG")) == "PNG"
    assert sniff_format(b"GIF89a" + b"\0" * 10) == "GIF"
    assert sniff_format(b"hello, world") is None
    assert sniff_format(b"") is None


def test_hashes_are_md5_and_sha256_hex() -> None:
    md5, sha256 = hashes(b"abc")
    assert md5 == "900150983cd24fb0d6963f7d28e17f72"
    assert sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_text_is_refused() -> None:
    with pytest.raises(ImageError, match="the file is not an image"):
        inspect_image(b"<html><body>not found</body></html>")


def test_truncated_png_is_refused() -> None:
    data = encode(IMAGE, "PNG")
    with pytest.raises(ImageError, match="truncated"):
        inspect_image(data[: len(data) // 2])


def test_truncated_jpeg_is_refused() -> None:
    data = encode(IMAGE, "JPEG")
    with pytest.raises(ImageError, match="truncated"):
        inspect_image(data[: len(data) // 2])


def test_cut_header_is_refused() -> None:
    with pytest.raises(ImageError, match="truncated"):
        inspect_image(encode(IMAGE, "PNG")[:20])


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size: signature, IHDR and one tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


@pytest.mark.parametrize("decode", [True, False])
def test_decompression_bomb_is_refused_from_the_header(decode: bool) -> None:
    with pytest.raises(DecompressionBomb) as caught:
        inspect_image(_png_header(30000, 30000), decode=decode)
    assert str(caught.value) == "image is 30000x30000 = 900 Mpx, above the 64 Mpx limit"
    assert isinstance(caught.value, ImageError)


def test_pixel_limit_is_configurable() -> None:
    data = encode(IMAGE, "PNG")
    with pytest.raises(DecompressionBomb, match="321x123 = 39483 px, above the 10000 px limit"):
        inspect_image(data, max_pixels=10_000)
    assert inspect_image(data, max_pixels=321 * 123).width == 321


def test_header_only_inspection_does_not_decode() -> None:
    # A valid header followed by garbage: only full inspection notices.
    data = encode(IMAGE, "PNG")[:100]
    assert inspect_image(data, decode=False).height == 123
    with pytest.raises(ImageError):
        inspect_image(data)


def test_pillow_agrees_on_sizes_of_odd_jpegs() -> None:
    data = encode(Image.new("L", (17, 9), 128), "JPEG")
    assert header_size(data, "JPEG") == (17, 9)
