"""Grid thumbnails: one small WebP, upright, without metadata, close to the full image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from castsmith.imaging.renditions import make_renditions, make_thumbnail

from .pictures import decode, encode, mean_colour, photo
from .test_renditions import BLUE, RED, _sideways_jpeg


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (1024, 1024, (320, 320)),
        (768, 1024, (240, 320)),  # portrait
        (1500, 900, (320, 192)),  # landscape
        (200, 120, (200, 120)),  # small: never enlarged
    ],
)
def test_thumbnail_fits_its_square(width: int, height: int, expected: tuple[int, int]) -> None:
    for fmt in ("JPEG", "PNG"):
        thumb = make_thumbnail(encode(photo(width, height), fmt), 320)
        out = decode(thumb.data)
        assert out.format == "WEBP"
        assert out.size == (thumb.width, thumb.height) == expected
        assert (thumb.name, thumb.content_type) == ("thumb", "image/webp")


def test_a_jpeg_thumbnail_decoded_at_half_scale_looks_like_the_image() -> None:
    # The decoder scales 1024 px down to 512 before the resize; the result must be as
    # close to the image as a thumbnail made from the full decode is.
    source = photo(1024, 1024, seed=3)
    jpeg = encode(source, "JPEG", quality=95)
    reference = np.asarray(source.resize((320, 320), Image.Resampling.LANCZOS))

    def likeness(data: bytes) -> float:
        out = np.asarray(decode(data).convert("RGB"))
        return float(structural_similarity(reference, out, channel_axis=2, data_range=255))

    drafted = likeness(make_thumbnail(jpeg, 320).data)
    full = likeness(make_renditions(jpeg, {"t": 320}, method=4)["t"].data)
    assert drafted > 0.9, drafted
    assert drafted > full - 0.02, (drafted, full)


def test_thumbnail_is_upright_and_carries_no_metadata() -> None:
    thumb = make_thumbnail(_sideways_jpeg(), 64)
    upright = decode(thumb.data).convert("RGB")
    assert upright.size == (32, 64)
    assert np.allclose(mean_colour(upright.crop((0, 0, 32, 28))), RED, atol=16)
    assert np.allclose(mean_colour(upright.crop((0, 36, 32, 64))), BLUE, atol=16)
    assert b"Castsmith Test Camera" not in thumb.data and b"EXIF" not in thumb.data


def test_a_thumbnail_side_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        make_thumbnail(encode(photo(40, 40), "PNG"), 0)
