"""Real photographs for the curation tests, and where each comes from.

- ``obama``, ``obama2``, ``obama3``, ``biden``: the photographs in ``tests/test_images``
  of the source distribution of ``face_recognition`` 1.3.0 on PyPI (official White
  House portraits, works of the US government, public domain). ``make dev-deps``
  downloads that archive (like any dependency) into ``.cache/test-photos``; its SHA-256
  is checked here.
- ``astronaut``: scikit-image's ``data.astronaut()`` (Eileen Collins, a NASA photograph,
  public domain), installed with scikit-image.
- ``coffee``: scikit-image's ``data.coffee()`` (a cup of coffee: a photograph without a
  face; CC0 by Rachel Michetti, as scikit-image's documentation of it says).

Derived pictures (a blurred copy, a resized copy, two portraits side by side) are made
from these on the spot.
"""

from __future__ import annotations

import functools
import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

ARCHIVE = Path(__file__).parents[2] / ".cache" / "test-photos" / "face_recognition-1.3.0.tar.gz"
ARCHIVE_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
MEMBERS = {
    "obama": "face_recognition-1.3.0/tests/test_images/obama.jpg",
    "obama2": "face_recognition-1.3.0/tests/test_images/obama2.jpg",
    "obama3": "face_recognition-1.3.0/tests/test_images/obama3.jpg",
    "biden": "face_recognition-1.3.0/tests/test_images/biden.jpg",
}


@functools.cache
def _archive_files() -> dict[str, bytes]:
    if not ARCHIVE.exists():
        pytest.fail(f"{ARCHIVE} is missing: run 'make dev-deps' (it downloads the test photos)")
    data = ARCHIVE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == ARCHIVE_SHA256, f"{ARCHIVE} has SHA-256 {digest}, not the pinned one"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        out = {}
        for name, member in MEMBERS.items():
            handle = archive.extractfile(member)
            assert handle is not None
            out[name] = handle.read()
        return out


def jpeg(image: Image.Image, quality: int = 92) -> bytes:
    """``image`` as JPEG bytes."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def photo_bytes(name: str) -> bytes:
    """The JPEG bytes of one of the photographs named in the module docstring."""
    if name in MEMBERS:
        return _archive_files()[name]
    from skimage import data

    if name == "astronaut":
        return jpeg(Image.fromarray(np.asarray(data.astronaut())))
    if name == "coffee":
        return jpeg(Image.fromarray(np.asarray(data.coffee())))
    raise KeyError(name)


def photo(name: str) -> Image.Image:
    """One of the photographs as a Pillow image."""
    image = Image.open(io.BytesIO(photo_bytes(name)))
    image.load()
    return image


def blurred(name: str, radius: float = 4.0) -> bytes:
    """A Gaussian-blurred copy of a photograph."""
    return jpeg(photo(name).filter(ImageFilter.GaussianBlur(radius)))


def resized(name: str, scale: float = 0.6) -> bytes:
    """A smaller copy of a photograph (the same picture at another size)."""
    image = photo(name)
    return jpeg(image.resize((round(image.width * scale), round(image.height * scale))))


def side_by_side(left: str, right: str) -> bytes:
    """Two photographs next to each other in one image (two faces)."""
    a, b = photo(left), photo(right)
    both = Image.new("RGB", (a.width + b.width, max(a.height, b.height)), "white")
    both.paste(a, (0, 0))
    both.paste(b, (a.width, 0))
    return jpeg(both)
