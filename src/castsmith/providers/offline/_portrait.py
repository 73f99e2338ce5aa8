"""Procedural, deterministic stylised portraits, variations and 2x2 grids.

Identity (colours, face shape, hair, accessories) comes from the description; the seed
only moves the pose, expression and background pattern, so one character rendered
with several seeds stays recognisable. Everything is drawn with Pillow on a numpy
gradient; the same inputs always give the same bytes.
"""

from __future__ import annotations

import math
import random
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

from castsmith.providers.offline._traits import RGB, Traits

PLACEHOLDER_KEY = "castsmith:placeholder"
GUTTER_FRACTION = 1 / 32
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _shade(colour: RGB, factor: float) -> RGB:
    r, g, b = colour
    return (
        max(0, min(255, int(r * factor))),
        max(0, min(255, int(g * factor))),
        max(0, min(255, int(b * factor))),
    )


def _gradient(width: int, height: int, top: RGB, bottom: RGB) -> Image.Image:
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    start, end = np.array(top, np.float32), np.array(bottom, np.float32)
    rows = (start + (end - start) * ramp).astype(np.uint8)  # (h, 3)
    pixels = np.broadcast_to(rows[:, None, :], (height, width, 3))
    return Image.fromarray(np.ascontiguousarray(pixels), "RGB")


def render_portrait(traits: Traits, width: int, height: int, seed: int) -> Image.Image:
    """One portrait of the character on a background, posed by ``seed``."""
    rng = random.Random(seed)
    image = _gradient(width, height, *traits.background)
    draw = ImageDraw.Draw(image)
    unit = min(width, height)
    # Background pattern: soft discs that change with the seed.
    for _ in range(6):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height * 0.7)
        r = rng.uniform(0.04, 0.12) * unit
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_shade(traits.background[0], 1.25))

    cx = width / 2 + rng.uniform(-0.06, 0.06) * width
    cy = height * 0.45 + rng.uniform(-0.03, 0.03) * height
    scale = unit * rng.uniform(0.95, 1.05)
    head_h = 0.42 * scale
    head_w = head_h * traits.face_width
    hair, skin = traits.hair, traits.skin

    # Shoulders and neck.
    draw.ellipse(
        (cx - 0.42 * scale, cy + 0.28 * scale, cx + 0.42 * scale, cy + 0.95 * scale),
        fill=traits.clothes,
    )
    draw.rectangle(
        (cx - 0.08 * scale, cy + 0.12 * scale, cx + 0.08 * scale, cy + 0.34 * scale),
        fill=_shade(skin, 0.9),
    )
    # Hair behind the head.
    if traits.hair_style in ("long", "braids"):
        # Behind the crown, then one fall of hair on each side down to the shoulders;
        # the middle below the chin stays clear (one block there reads as a beard).
        draw.ellipse(
            (cx - head_w * 0.64, cy - head_h * 0.56, cx + head_w * 0.64, cy + head_h * 0.2),
            fill=hair,
        )
        for side in (-1, 1):
            inner, outer = cx + side * head_w * 0.36, cx + side * head_w * 0.68
            draw.rounded_rectangle(
                (min(inner, outer), cy - head_h * 0.2, max(inner, outer), cy + head_h * 0.8),
                radius=int(head_w * 0.14),
                fill=hair,
            )
    elif traits.hair_style == "afro":
        r = head_h * 0.78
        draw.ellipse((cx - r, cy - r * 0.95, cx + r, cy + r * 0.6), fill=hair)
    elif traits.hair_style == "bob":
        draw.rounded_rectangle(
            (cx - head_w * 0.64, cy - head_h * 0.55, cx + head_w * 0.64, cy + head_h * 0.22),
            radius=int(head_w * 0.3),
            fill=hair,
        )
    # Ears and head; a squarer jaw widens the lower face.
    ear = head_h * 0.09
    for side in (-1, 1):
        ex = cx + side * head_w * 0.5
        draw.ellipse((ex - ear, cy - ear * 1.4, ex + ear, cy + ear * 1.4), fill=_shade(skin, 0.95))
    draw.ellipse((cx - head_w / 2, cy - head_h / 2, cx + head_w / 2, cy + head_h / 2), fill=skin)
    jaw_w = head_w * (0.25 + 0.2 * traits.jaw)
    draw.polygon(
        [
            (cx - head_w / 2 + 1, cy),
            (cx + head_w / 2 - 1, cy),
            (cx + jaw_w, cy + head_h * 0.45),
            (cx - jaw_w, cy + head_h * 0.45),
        ],
        fill=skin,
    )
    # Cel shading on one side.
    draw.chord(
        (cx - head_w / 2, cy - head_h / 2, cx + head_w / 2, cy + head_h / 2),
        60,
        120,
        fill=_shade(skin, 0.9),
    )
    _draw_face(draw, traits, rng, cx, cy, head_w, head_h)
    _draw_hair_front(draw, traits, rng, cx, cy, head_w, head_h)
    _draw_accessories(draw, traits, cx, cy, head_w, head_h)
    return image


def _draw_face(
    draw: ImageDraw.ImageDraw,
    traits: Traits,
    rng: random.Random,
    cx: float,
    cy: float,
    w: float,
    h: float,
) -> None:
    gaze = rng.uniform(-0.02, 0.02) * w
    eye_y = cy - h * 0.02
    for side in (-1, 1):
        ex = cx + side * w * 0.2
        draw.ellipse(
            (ex - w * 0.1, eye_y - h * 0.045, ex + w * 0.1, eye_y + h * 0.045), fill="white"
        )
        iris = h * 0.038
        draw.ellipse(
            (ex + gaze - iris, eye_y - iris, ex + gaze + iris, eye_y + iris), fill=traits.eyes
        )
        pupil = iris * 0.45
        draw.ellipse(
            (ex + gaze - pupil, eye_y - pupil, ex + gaze + pupil, eye_y + pupil), fill="black"
        )
        brow_y = eye_y - h * 0.09
        draw.line(
            (ex - w * 0.11, brow_y + h * 0.01, ex + w * 0.11, brow_y),
            fill=_shade(traits.hair, 0.7),
            width=max(2, int(h * 0.025)),
        )
        if traits.age >= 50:
            draw.line(
                (ex - w * 0.12, eye_y + h * 0.07, ex - w * 0.02, eye_y + h * 0.075),
                fill=_shade(traits.skin, 0.8),
                width=max(1, int(h * 0.008)),
            )
    nose = _shade(traits.skin, 0.8)
    draw.line(
        (cx, eye_y + h * 0.04, cx - w * 0.04, cy + h * 0.16),
        fill=nose,
        width=max(2, int(h * 0.015)),
    )
    smile = rng.uniform(0.2, 0.9)
    mouth_w, mouth_y = w * 0.16, cy + h * 0.27
    lips = (178, 70, 80) if traits.sex == "female" else _shade(traits.skin, 0.65)
    draw.arc(
        (cx - mouth_w, mouth_y - h * 0.06 * smile, cx + mouth_w, mouth_y + h * 0.06 * smile),
        10,
        170,
        fill=lips,
        width=max(2, int(h * 0.02)),
    )
    if "freckles" in traits.accessories:
        for _ in range(14):
            fx = cx + rng.uniform(-0.3, 0.3) * w
            fy = cy + rng.uniform(0.05, 0.15) * h
            draw.ellipse((fx - 2, fy - 2, fx + 2, fy + 2), fill=_shade(traits.skin, 0.7))


def _draw_hair_front(
    draw: ImageDraw.ImageDraw,
    traits: Traits,
    rng: random.Random,
    cx: float,
    cy: float,
    w: float,
    h: float,
) -> None:
    hair, style = traits.hair, traits.hair_style
    if style == "bald":
        return
    top = (cx - w * 0.54, cy - h * 0.62, cx + w * 0.54, cy - h * 0.02)
    draw.chord(top, 180, 360, fill=hair)
    if style == "curly" or style == "afro":
        for i in range(18):
            angle = np.pi + np.pi * i / 17
            r = h * 0.08
            px = cx + np.cos(angle) * w * 0.52
            py = cy - h * 0.22 + np.sin(angle) * h * 0.36
            draw.ellipse((px - r, py - r, px + r, py + r), fill=hair)
    elif style == "ponytail":
        r = h * 0.14
        px = cx + w * 0.55
        draw.ellipse((px - r, cy - h * 0.35, px + r, cy + h * 0.15), fill=hair)
    elif style == "bun":
        r = h * 0.15
        draw.ellipse((cx - r, cy - h * 0.72, cx + r, cy - h * 0.72 + 2 * r), fill=hair)
    # A fringe parted by the seed keeps poses lively without changing the character.
    part = cx + rng.uniform(-0.15, 0.15) * w
    draw.polygon(
        [
            (cx - w * 0.5, cy - h * 0.2),
            (part, cy - h * 0.45),
            (cx + w * 0.5, cy - h * 0.22),
            (cx + w * 0.5, cy - h * 0.3),
            (cx - w * 0.5, cy - h * 0.3),
        ],
        fill=hair,
    )
    if "beard" in traits.accessories:
        draw.chord((cx - w * 0.45, cy - h * 0.1, cx + w * 0.45, cy + h * 0.5), 0, 180, fill=hair)
        draw.ellipse(
            (cx - w * 0.12, cy + h * 0.22, cx + w * 0.12, cy + h * 0.32),
            fill=_shade(traits.skin, 0.6),
        )
    if "moustache" in traits.accessories or "beard" in traits.accessories:
        draw.rounded_rectangle(
            (cx - w * 0.16, cy + h * 0.18, cx + w * 0.16, cy + h * 0.23), radius=4, fill=hair
        )


def _draw_accessories(
    draw: ImageDraw.ImageDraw, traits: Traits, cx: float, cy: float, w: float, h: float
) -> None:
    acc = traits.accessories
    if "glasses" in acc:
        frame = (30, 30, 36)
        thick = max(2, int(h * 0.018))
        for side in (-1, 1):
            ex = cx + side * w * 0.2
            draw.rounded_rectangle(
                (ex - w * 0.14, cy - h * 0.09, ex + w * 0.14, cy + h * 0.06),
                radius=int(w * 0.04),
                outline=frame,
                width=thick,
            )
        draw.line(
            (cx - w * 0.06, cy - h * 0.03, cx + w * 0.06, cy - h * 0.03), fill=frame, width=thick
        )
    if "earrings" in acc:
        for side in (-1, 1):
            ex, ey, r = cx + side * w * 0.5, cy + h * 0.14, h * 0.025
            draw.ellipse((ex - r, ey - r, ex + r, ey + r), fill=(232, 190, 60))
    if "hat" in acc:
        hat = _shade(traits.clothes, 0.6)
        draw.rectangle((cx - w * 0.75, cy - h * 0.42, cx + w * 0.75, cy - h * 0.34), fill=hat)
        draw.rounded_rectangle(
            (cx - w * 0.45, cy - h * 0.8, cx + w * 0.45, cy - h * 0.38),
            radius=int(w * 0.1),
            fill=hat,
        )


def vary(source: Image.Image, width: int, height: int, seed: int, tint: RGB) -> Image.Image:
    """A variation of an image: crop, mirror, small turn, light and background shift.

    The subject keeps its colours (hair, skin, clothes) so the character stays
    recognisable; only framing, light and the background's hue move.
    """
    rng = random.Random(seed)
    image = source if source.mode == "RGB" else source.convert("RGB")
    sw, sh = image.size
    zoom = rng.uniform(0.8, 0.95)
    cw, ch = sw * zoom, sh * zoom
    crop_cx = rng.uniform(cw / 2, sw - cw / 2)
    crop_cy = rng.uniform(ch / 2, ch / 2 + (sh - ch) * 0.6)
    mirror = rng.random() < 0.5
    angle = math.radians(rng.uniform(-5, 5))
    small = np.asarray(image.resize((64, 64), Image.Resampling.NEAREST))
    border = np.concatenate([small[0], small[-1]])
    fill: RGB = (
        int(np.median(border[:, 0])),
        int(np.median(border[:, 1])),
        int(np.median(border[:, 2])),
    )
    image = _frame(image, (crop_cx, crop_cy), zoom, (width, height), mirror, angle, fill)
    # Shift the background towards a new tint where pixels look like the old one. The
    # mask comes from a coarse nearest-neighbour sample: plenty for a soft blend.
    low = np.asarray(
        image.resize((max(1, width // 8), max(1, height // 8)), Image.Resampling.NEAREST)
    ).astype(np.int16)
    distance = np.abs(low - np.array(fill, np.int16)).sum(axis=2)
    mask = (np.clip((90 - distance) / 60.0, 0.0, 1.0) * 140).astype(np.uint8)
    mask_image = Image.fromarray(mask, "L").resize((width, height), Image.Resampling.BILINEAR)
    image.paste(tint, (0, 0, width, height), mask_image)  # in place: the frame is new
    # Light: one lookup-table pass rather than a blend with black.
    gain = rng.uniform(0.93, 1.07)
    return image.point([min(255, int(v * gain)) for v in range(256)] * 3)


def _frame(
    image: Image.Image,
    centre: tuple[float, float],
    zoom: float,
    size: tuple[int, int],
    mirror: bool,
    angle: float,
    fill: RGB,
) -> Image.Image:
    """Crop a ``zoom`` share around ``centre``, mirror, turn and scale in one pass.

    Nearest-neighbour sampling makes the pass a tenth of a bilinear one. The scale is
    close to one (the crop keeps 80-95 % of the source), so it leaves steps a pixel
    high on edges, like the ones the drawn portraits already have. A source much larger
    than the output is first shrunk with a box filter so detail does not alias.
    """
    (cx, cy), (width, height) = centre, size
    shrink = int(min(image.width * zoom / width, image.height * zoom / height))
    if shrink >= 2:
        image = image.reduce(shrink)
        cx, cy = cx / shrink, cy / shrink
    # Output pixel -> source pixel (Pillow's affine maps that way round).
    sx, sy = image.width * zoom / width, image.height * zoom / height
    flip = -1.0 if mirror else 1.0
    cos, sin = math.cos(angle), math.sin(angle)
    a, b = cos * sx * flip, -sin * sy
    d, e = sin * sx * flip, cos * sy
    c = cx - a * width / 2 - b * height / 2
    f = cy - d * width / 2 - e * height / 2
    return image.transform(
        size,
        Image.Transform.AFFINE,
        (a, b, c, d, e, f),
        resample=Image.Resampling.NEAREST,
        fillcolor=fill,
    )


def grid(cells: list[Image.Image], width: int, height: int) -> Image.Image:
    """Four images in a 2x2 grid with white gutters and a white outer margin.

    Cells already at :func:`grid_cell_size` are pasted as they are; others are scaled.
    """
    cw, ch = grid_cell_size(width, height)
    gutter = _gutter(width, height)
    canvas = Image.new("RGB", (width, height), "white")
    for index, cell in enumerate(cells[:4]):
        x = gutter + (index % 2) * (cw + gutter)
        y = gutter + (index // 2) * (ch + gutter)
        if cell.size != (cw, ch):
            cell = cell.resize((cw, ch), Image.Resampling.BILINEAR)
        canvas.paste(cell, (x, y))
    return canvas


def _gutter(width: int, height: int) -> int:
    return max(4, int(min(width, height) * GUTTER_FRACTION))


def grid_cell_size(width: int, height: int) -> tuple[int, int]:
    """The size of one cell of a width x height 2x2 grid: draw cells at this size."""
    gutter = _gutter(width, height)
    return (width - 3 * gutter) // 2, (height - 3 * gutter) // 2


def encode_png(image: Image.Image, note: str) -> bytes:
    """PNG bytes labelled as placeholder art (text chunk ``castsmith:placeholder``).

    Written directly with zlib at level 1 and no row filters: for flat drawn art that
    is about half the time of Pillow's adaptive filtering at similar size, and these
    are placeholders, where speed matters more than bytes.
    """
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")
    width, height = image.size
    channels = 4 if image.mode == "RGBA" else 3
    rows = np.zeros((height, width * channels + 1), np.uint8)  # column 0: filter "none"
    rows[:, 1:] = np.asarray(image).reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if channels == 4 else 2, 0, 0, 0)
    text = PLACEHOLDER_KEY.encode("latin-1") + b"\0" + note.encode("latin-1", "replace")
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"tEXt", text),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
