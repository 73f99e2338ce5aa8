"""The type a stored file is served as: decided from its bytes, from an allow-list.

A file a user uploaded must never run as a page on the app's origin. So the type its
uploader claimed only counts when the bytes agree: images by their magic bytes, zip
archives by theirs, text only when it decodes as UTF-8 and was declared as text. All
else is ``application/octet-stream``, which browsers download rather than render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from castsmith.imaging.sniff import CONTENT_TYPES, sniff_format

OCTET_STREAM: Final = "application/octet-stream"
ZIP: Final = "application/zip"
_ZIP_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06")
# Declared types served as text, each as one plain, non-executable type.
_TEXT_TYPES: Final[dict[str, str]] = {
    "text/plain": "text/plain; charset=utf-8",
    "text/csv": "text/csv; charset=utf-8",
    "text/markdown": "text/plain; charset=utf-8",
    "application/json": "application/json",
    "application/x-ndjson": "application/json",
}


@dataclass(frozen=True)
class Served:
    """How to serve a file: its content type, and whether a browser may show it inline."""

    content_type: str
    inline: bool


def served_type(head: bytes, declared: str | None) -> Served:
    """The type to serve a file with, from its first bytes and the type it was stored as."""
    fmt = sniff_format(head)
    if fmt is not None:
        return Served(CONTENT_TYPES[fmt], inline=True)
    if head.startswith(_ZIP_MAGIC):
        return Served(ZIP, inline=False)
    base = (declared or "").split(";", 1)[0].strip().lower()
    text = _TEXT_TYPES.get(base)
    if text is not None and _is_utf8_text(head):
        return Served(text, inline=False)
    return Served(OCTET_STREAM, inline=False)


def _is_utf8_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may end inside a multi-byte character: only that is forgiven.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True
