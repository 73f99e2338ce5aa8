"""WebP renditions of one image (poster frames in sm/md/lg, grid thumbnails) and the
JPEG/PNG converters.

Decode once, resize progressively (each size from the next larger one, which keeps
quality and saves work), and encode the sizes in parallel threads: Pillow releases the
GIL while resizing and while libwebp encodes, so the largest size, which dominates the
cost, is encoded while the smaller ones are still being resized.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from PIL import Image

from castsmith.imaging.decode import DEFAULT_MAX_PIXELS, normalise, open_image

DEFAULT_SIZES: Final[Mapping[str, int]] = {"sm": 256, "md": 512, "lg": 1024}
WEBP: Final = "image/webp"

# As in Pillow's thumbnail(): shrink by an integer factor first (box filter, cheap)
# when the image is at least this many times larger than the target, then LANCZOS.
_REDUCING_GAP: Final = 2.0


@dataclass(frozen=True, slots=True)
class Rendition:
    """One encoded size of an image."""

    name: str
    data: bytes
    width: int
    height: int
    content_type: str = WEBP

    @property
    def size_bytes(self) -> int:
        """Length of ``data``."""
        return len(self.data)


def fit_within(width: int, height: int, box: int) -> tuple[int, int]:
    """Size of a ``width`` x ``height`` image shrunk to fit a ``box`` square.

    Keeps the aspect ratio and never enlarges, with the rounding Pillow's ``thumbnail``
    uses (the side that is not limited is rounded to whichever integer keeps the
    aspect ratio closest).
    """
    if width <= box and height <= box:
        return width, height
    aspect = width / height
    if aspect <= 1:  # portrait or square: the height is limited
        exact = box * aspect
        candidates = {max(math.floor(exact), 1), max(math.ceil(exact), 1)}
        return min(candidates, key=lambda w: (abs(aspect - w / box), w)), box
    exact = box / aspect
    candidates = {max(math.floor(exact), 1), max(math.ceil(exact), 1)}
    return box, min(candidates, key=lambda h: (abs(aspect - box / h), h))


def make_renditions(
    data: bytes,
    sizes: Mapping[str, int] = DEFAULT_SIZES,
    *,
    quality: int = 85,
    method: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    parallel: bool = True,
    small_method: int | None = 5,
) -> dict[str, Rendition]:
    """Encode ``data`` as one WebP per entry of ``sizes`` (name -> bounding square side).

    Each rendition fits inside its square, keeps the aspect ratio and is never larger
    than the source. EXIF orientation is applied, colours are converted to sRGB, all
    metadata is dropped and transparency is kept. The result has the keys of ``sizes``.
    ``parallel=False`` encodes in the calling thread (for callers that are themselves
    one of many parallel workers).

    ``method`` is libwebp's effort (0-6) for the largest rendition and ``small_method``
    (``None``: the same) for the others. The defaults come from benchmarks/imaging.py
    with the libwebp in Pillow 13: the largest encode is the critical path, and method 2
    costs a third of method 4's time there for a few percent more bytes; the smaller
    sizes, encoded on another thread meanwhile, take method 5 and win those bytes back
    (5-7 % smaller than at method 2), so the three together stay within 5 % of method 6
    everywhere in bytes and within 0.003 in SSIM, at well under half the time.
    """
    if not sizes:
        return {}
    if any(side < 1 for side in sizes.values()):
        raise ValueError(f"rendition sizes must be positive, got {dict(sizes)}")
    largest = max(sizes.values())
    box = (int(largest * _REDUCING_GAP), int(largest * _REDUCING_GAP))
    decoded, _ = open_image(data, max_pixels=max_pixels, draft_box=box)
    source = normalise(decoded)

    # Largest first, so each size is made from the previous one.
    order = sorted(sizes.items(), key=lambda item: item[1], reverse=True)
    shapes: dict[str, tuple[int, int]] = {}
    workers = max(1, min(len(order), os.cpu_count() or 1)) if parallel else 1
    if small_method is None:
        small_method = method
    methods = {name: method if i == 0 else small_method for i, (name, _) in enumerate(order)}
    if workers == 1:
        encoded = {
            name: _encode_webp(image, quality, methods[name])
            for name, image in _progressive(source, order, shapes)
        }
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rendition") as pool:
            # Submitting as each size is ready lets the big encode overlap the resizes.
            futures: dict[str, Future[bytes]] = {
                name: pool.submit(_encode_webp, image, quality, methods[name])
                for name, image in _progressive(source, order, shapes)
            }
            encoded = {name: future.result() for name, future in futures.items()}
    return {
        name: Rendition(name, encoded[name], shapes[name][0], shapes[name][1]) for name in sizes
    }


def make_thumbnail(
    data: bytes,
    side: int,
    *,
    name: str = "thumb",
    quality: int = 80,
    method: int = 4,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Rendition:
    """One small WebP of ``data`` fitting a ``side`` square (for grids), in this thread.

    Unlike :func:`make_renditions`, which decodes at up to twice its largest size so that
    each size can be made from the next, a lone small size lets the JPEG decoder scale
    down as far as the result still covers ``side`` (a 1024 px JPEG decodes at 512 px for
    a 320 px thumbnail): about a third less CPU per thumbnail, for the same bytes.
    """
    if side < 1:
        raise ValueError(f"thumbnail side must be positive, got {side}")
    decoded, _ = open_image(data, max_pixels=max_pixels, draft_box=(side, side))
    image = normalise(decoded)
    target = fit_within(image.width, image.height, side)
    if image.size != target:
        image = image.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    return Rendition(name, _encode_webp(image, quality, method), image.width, image.height)


def _progressive(
    source: Image.Image,
    order: list[tuple[str, int]],
    shapes: dict[str, tuple[int, int]],
) -> Iterator[tuple[str, Image.Image]]:
    """Yield ``(name, image)`` largest first, each resized from the one before."""
    previous = source
    for name, side in order:
        target = fit_within(source.width, source.height, side)
        if previous.size != target:
            previous = previous.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
        shapes[name] = target
        yield name, previous


def _encode_webp(image: Image.Image, quality: int, method: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=quality, method=method)
    return buffer.getvalue()


def to_jpeg(data: bytes, quality: int = 92, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """Re-encode any accepted image as an upright, metadata-free sRGB JPEG.

    Transparent areas are laid over white, since JPEG has no alpha.
    """
    decoded, _ = open_image(data, max_pixels=max_pixels)
    image = normalise(decoded)
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def to_png(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """Re-encode any accepted image as an upright, metadata-free sRGB PNG (alpha kept)."""
    decoded, _ = open_image(data, max_pixels=max_pixels)
    return encode_png(normalise(decoded))


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes of an already normalised image."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
