"""Split one image holding a grid of photos (the avatar pipeline's 2x2 sheet) into pieces.

Gutters are found from the pixels: a row (or column) is "blank" when nearly all of its
pixels are white or off-white. The blank runs touching the edges are the outer border;
between them, each cut is the blank run nearest to where an evenly divided grid would
put it, or that geometric position itself when no blank run is near. Each piece then
loses whatever blank border it still has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from castsmith.domain.errors import ImageError
from castsmith.imaging.decode import DEFAULT_MAX_PIXELS, normalise, open_image
from castsmith.imaging.renditions import encode_png

#: A pixel is blank when its darkest channel is at least this bright...
WHITE_LEVEL: Final = 225
#: ...and it is nearly neutral (channels at most this far apart), so pale colours stay.
NEUTRAL_SPREAD: Final = 30
#: A row or column is blank when at least this share of its pixels is blank.
BLANK_SHARE: Final = 0.95


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in pixels: ``left``/``top`` inclusive, ``right``/``bottom`` exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.bottom - self.top


def split_grid(
    data: bytes,
    rows: int = 2,
    cols: int = 2,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> list[bytes]:
    """Cut a grid image into ``rows * cols`` PNGs, in reading order, borders trimmed."""
    image = _flat_rgb(data, max_pixels)
    boxes = _cells(image, rows, cols)
    if any(box.width <= 0 or box.height <= 0 for box in boxes):
        raise ImageError(f"the image is too small to split into a {rows}x{cols} grid")
    return [encode_png(image.crop(_pil_box(box))) for box in boxes]


def grid_cells(
    data: bytes,
    rows: int = 2,
    cols: int = 2,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> list[Box]:
    """Where :func:`split_grid` would cut: one trimmed :class:`Box` per piece."""
    return _cells(_flat_rgb(data, max_pixels), rows, cols)


def _pil_box(box: Box) -> tuple[int, int, int, int]:
    return box.left, box.top, box.right, box.bottom


def _flat_rgb(data: bytes, max_pixels: int) -> Image.Image:
    decoded, _ = open_image(data, max_pixels=max_pixels)
    image = normalise(decoded)
    if image.mode == "RGBA":
        # Transparent gutters count as white.
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image


def _cells(image: Image.Image, rows: int, cols: int) -> list[Box]:
    if rows < 1 or cols < 1:
        raise ValueError(f"a grid needs at least one row and one column, got {rows}x{cols}")
    blank = _blank_mask(np.asarray(image))
    row_blank = blank.mean(axis=1) >= BLANK_SHARE
    col_blank = blank.mean(axis=0) >= BLANK_SHARE
    if row_blank.all() or col_blank.all():
        raise ImageError("the grid image is blank: no photos found in it")
    row_spans = _spans(row_blank, rows)
    col_spans = _spans(col_blank, cols)
    cells = []
    for top, bottom in row_spans:
        for left, right in col_spans:
            cells.append(_trim(blank, Box(left, top, right, bottom)))
    return cells


def _blank_mask(pixels: NDArray[np.uint8]) -> NDArray[np.bool_]:
    darkest = pixels.min(axis=2)
    spread = pixels.max(axis=2) - darkest
    mask: NDArray[np.bool_] = (darkest >= WHITE_LEVEL) & (spread <= NEUTRAL_SPREAD)
    return mask


def _runs(flags: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of True values."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(edges[i]), int(edges[i + 1])) for i in range(0, len(edges), 2)]


def _spans(blank: NDArray[np.bool_], parts: int) -> list[tuple[int, int]]:
    """Split one axis into ``parts`` ``[start, end)`` spans separated by gutters."""
    content = np.flatnonzero(~blank)
    start, end = int(content[0]), int(content[-1]) + 1  # inside the outer border
    inner = [(s, e) for s, e in _runs(blank[start:end]) if s > 0 and e < end - start]
    inner = [(s + start, e + start) for s, e in inner]
    step = (end - start) / parts
    spans: list[tuple[int, int]] = []
    cursor = start
    for k in range(1, parts):
        expected = start + k * step
        # A gutter may sit anywhere within half a cell of the even position.
        near = [(s, e) for s, e in inner if abs((s + e) / 2 - expected) <= step / 2 and s > cursor]
        if near:
            s, e = min(near, key=lambda run: abs((run[0] + run[1]) / 2 - expected))
        else:
            s = e = round(expected)
        spans.append((cursor, s))
        cursor = e
    spans.append((cursor, end))
    return spans


def _trim(blank: NDArray[np.bool_], box: Box) -> Box:
    """Shrink ``box`` past any blank rows and columns along its edges."""
    piece = blank[box.top : box.bottom, box.left : box.right]
    if piece.size == 0:
        return box
    filled_rows = np.flatnonzero(piece.mean(axis=1) < BLANK_SHARE)
    filled_cols = np.flatnonzero(piece.mean(axis=0) < BLANK_SHARE)
    if filled_rows.size == 0 or filled_cols.size == 0:
        return box  # an all-blank piece: nothing sensible to trim to
    return Box(
        box.left + int(filled_cols[0]),
        box.top + int(filled_rows[0]),
        box.left + int(filled_cols[-1]) + 1,
        box.top + int(filled_rows[-1]) + 1,
    )
