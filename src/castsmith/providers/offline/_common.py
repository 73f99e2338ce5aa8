"""What the offline images and text share: the model name, seeds and sizes."""

from __future__ import annotations

import hashlib
import re

from castsmith.domain.errors import InvalidRequest
from castsmith.providers._support import size_for_ratio

MODEL = "castsmith-offline-1"
MAX_SIDE = 2048
_GRID_WORDS = re.compile(r"\b(2\s*x\s*2|grid|four[- ]panel|4[- ]panel|contact sheet)\b", re.I)


def stable_seed(*parts: object) -> int:
    """A seed derived from the request when none was given (stable across runs)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def wants_grid(prompt: str, flag: bool) -> bool:
    """True when the flag is set or the prompt asks for a 2x2 grid."""
    return flag or bool(_GRID_WORDS.search(prompt))


def image_size(width: int | None, height: int | None, ratio: str | None) -> tuple[int, int]:
    """The size to draw: explicit, from an aspect ratio, or 1024 square; bounded."""
    if width and height:
        w, h = width, height
    elif ratio:
        w, h = size_for_ratio(ratio)
    else:
        w, h = 1024, 1024
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise InvalidRequest(
            f"offline images must be 16..{MAX_SIDE} px a side; got {w}x{h}", "offline"
        )
    return w, h
