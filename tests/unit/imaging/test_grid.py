"""Splitting 2x2 photo sheets: the pieces must match the photos that were laid out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from castsmith.domain.errors import ImageError
from castsmith.imaging import grid_cells, sniff_format, split_grid

from .pictures import decode, encode, mean_colour, photo

TINTS = [(80, -60, -60), (-60, 80, -60), (-60, -60, 80), (60, 40, -90)]


def _cells(sizes: list[tuple[int, int]]) -> list[Image.Image]:
    return [photo(w, h, seed=i, tint=TINTS[i]) for i, (w, h) in enumerate(sizes)]


def _sheet(
    cells: list[Image.Image],
    *,
    h_gutter: int,
    v_gutter: int,
    border: int = 0,
    off_white: bool = False,
    seed: int = 3,
) -> Image.Image:
    """Lay four photos out as a 2x2 grid; each sits top-left in its slot."""
    col_widths = [max(cells[0].width, cells[2].width), max(cells[1].width, cells[3].width)]
    row_heights = [max(cells[0].height, cells[1].height), max(cells[2].height, cells[3].height)]
    width = 2 * border + sum(col_widths) + v_gutter
    height = 2 * border + sum(row_heights) + h_gutter
    if off_white:
        rng = np.random.default_rng(seed)
        level = rng.integers(240, 251, (height, width, 1))
        wobble = rng.integers(-2, 3, (height, width, 3))
        paper = Image.fromarray(np.clip(level + wobble, 0, 255).astype(np.uint8), "RGB")
    else:
        paper = Image.new("RGB", (width, height), (255, 255, 255))
    xs = [border, border + col_widths[0] + v_gutter]
    ys = [border, border + row_heights[0] + h_gutter]
    for index, cell in enumerate(cells):
        paper.paste(cell, (xs[index % 2], ys[index // 2]))
    return paper


def _assert_pieces_match(pieces: list[bytes], cells: list[Image.Image], tolerance: int = 3) -> None:
    assert len(pieces) == 4
    for data, cell in zip(pieces, cells, strict=True):
        assert sniff_format(data) == "PNG"
        piece = decode(data)
        assert abs(piece.width - cell.width) <= tolerance, (piece.size, cell.size)
        assert abs(piece.height - cell.height) <= tolerance, (piece.size, cell.size)
        assert np.allclose(mean_colour(piece), mean_colour(cell), atol=4)


def test_even_white_gutters() -> None:
    cells = _cells([(300, 300)] * 4)
    sheet = _sheet(cells, h_gutter=20, v_gutter=20)
    _assert_pieces_match(split_grid(encode(sheet, "PNG")), cells, tolerance=0)


def test_uneven_gutters_and_cell_sizes() -> None:
    cells = _cells([(280, 320), (330, 300), (300, 260), (310, 290)])
    sheet = _sheet(cells, h_gutter=8, v_gutter=45)
    _assert_pieces_match(split_grid(encode(sheet, "PNG")), cells)


def test_off_white_gutters_with_an_outer_border() -> None:
    cells = _cells([(256, 256)] * 4)
    sheet = _sheet(cells, h_gutter=24, v_gutter=12, border=30, off_white=True)
    _assert_pieces_match(split_grid(encode(sheet, "PNG")), cells)


def test_jpeg_artefacts_around_gutters() -> None:
    cells = _cells([(240, 260)] * 4)
    sheet = _sheet(cells, h_gutter=16, v_gutter=16, border=10, off_white=True)
    _assert_pieces_match(split_grid(encode(sheet, "JPEG", quality=75)), cells)


def test_without_gutters_the_geometric_middle_is_used() -> None:
    cells = _cells([(200, 150)] * 4)
    sheet = _sheet(cells, h_gutter=0, v_gutter=0)
    boxes = grid_cells(encode(sheet, "PNG"))
    assert [(b.left, b.top, b.right, b.bottom) for b in boxes] == [
        (0, 0, 200, 150),
        (200, 0, 400, 150),
        (0, 150, 200, 300),
        (200, 150, 400, 300),
    ]
    _assert_pieces_match(split_grid(encode(sheet, "PNG")), cells, tolerance=0)


def test_transparent_gutters_count_as_white() -> None:
    cells = _cells([(150, 150)] * 4)
    sheet = _sheet(cells, h_gutter=14, v_gutter=14, border=6).convert("RGBA")
    pixels = np.asarray(sheet).copy()
    white = (pixels[..., :3] == 255).all(axis=2)
    pixels[white, 3] = 0
    _assert_pieces_match(split_grid(encode(Image.fromarray(pixels, "RGBA"), "PNG")), cells)


def test_white_inside_a_photo_is_not_a_gutter() -> None:
    cells = _cells([(300, 300)] * 4)
    # A white bar across both top photos, a quarter of the way down: blank across the
    # whole sheet, yet too far from the middle to be the cut.
    for cell in cells[:2]:
        cell.paste((255, 255, 255), (0, 70, 300, 80))
    sheet = _sheet(cells, h_gutter=20, v_gutter=20)
    boxes = grid_cells(encode(sheet, "PNG"))
    assert [(b.width, b.height) for b in boxes] == [(300, 300)] * 4


def test_other_grid_shapes() -> None:
    strip = Image.new("RGB", (3 * 100 + 2 * 10, 100), (255, 255, 255))
    for i in range(3):
        strip.paste(TINTS[i][0] % 200 + 20, (i * 110, 0, i * 110 + 100, 100))
    boxes = grid_cells(encode(strip, "PNG"), rows=1, cols=3)
    assert [(b.left, b.right) for b in boxes] == [(0, 100), (110, 210), (220, 320)]


def test_blank_and_bad_inputs_are_refused() -> None:
    with pytest.raises(ImageError, match="blank"):
        split_grid(encode(Image.new("RGB", (200, 200), (250, 250, 248)), "PNG"))
    with pytest.raises(ImageError, match="not an image"):
        split_grid(b"just text")
    with pytest.raises(ValueError, match="at least one row"):
        split_grid(encode(photo(20, 20), "PNG"), rows=0)
