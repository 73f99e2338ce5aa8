"""Turning whatever a trainer hands back into one checked ``.safetensors`` file.

Replicate returns an uncompressed tar holding exactly one ``.safetensors`` (plus its
config and captions); fal returns the ``.safetensors`` itself. Both are first written
to disk; a tar is then opened and its single ``.safetensors`` member copied out in
chunks. Zero or several ``.safetensors`` members, or a file that is neither, fail.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from castsmith.domain.errors import ValidationError
from castsmith.domain.lora import HEADER_LENGTH_BYTES, header_length, parse_header

CHUNK = 1024 * 1024


def read_header(path: Path) -> dict[str, object]:
    """The safetensors header of the file at ``path``, or ``ValidationError``."""
    size = path.stat().st_size
    with path.open("rb") as f:
        first = f.read(HEADER_LENGTH_BYTES)
        length = header_length(first)
        first += f.read(length)
    return parse_header(first, size)


def _is_tar(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(257)
        return f.read(5) == b"ustar"


def normalise(raw: Path, dest: Path, max_bytes: int) -> int:
    """Put the checked ``.safetensors`` from ``raw`` (a tar or the file) at ``dest``.

    Returns the size of ``dest``. Sync: run it in a thread.
    """
    if _is_tar(raw):
        with tarfile.open(raw, mode="r:*") as archive:
            members = [
                m for m in archive.getmembers() if m.isfile() and m.name.endswith(".safetensors")
            ]
            if len(members) != 1:
                raise ValidationError(
                    f"the trainer's archive holds {len(members)} .safetensors files; "
                    "exactly one was expected",
                    "weights",
                )
            member = members[0]
            if member.size > max_bytes:
                raise ValidationError(
                    f"the weights are {member.size} bytes, above the {max_bytes} byte limit",
                    "weights",
                )
            source = archive.extractfile(member)
            assert source is not None  # a regular file member always has a body
            with source, dest.open("wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
    else:
        if raw.stat().st_size > max_bytes:
            raise ValidationError(
                f"the weights are larger than the {max_bytes} byte limit", "weights"
            )
        shutil.move(raw, dest)
    read_header(dest)
    return dest.stat().st_size
