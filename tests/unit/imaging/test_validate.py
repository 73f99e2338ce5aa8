"""Size and sharpness checks."""

from __future__ import annotations

from PIL import ImageFilter

from castsmith.imaging import check_image, sharpness

from .pictures import encode, photo


def test_sharp_large_image_passes() -> None:
    check = check_image(encode(photo(640, 600), "PNG"), min_sharpness=10)
    assert check.ok, check.problems
    assert (check.width, check.height) == (640, 600)


def test_blurred_image_scores_lower_and_is_flagged() -> None:
    sharp = photo(600, 600)
    blurred = sharp.filter(ImageFilter.GaussianBlur(6))
    assert sharpness(blurred) < sharpness(sharp) / 5
    check = check_image(encode(blurred, "PNG"), min_sharpness=10)
    assert not check.ok
    assert any("blurred" in problem for problem in check.problems)


def test_small_image_is_flagged_with_its_size() -> None:
    check = check_image(encode(photo(300, 200), "PNG"), min_sharpness=0)
    assert check.problems == ("image is 300x200, smaller than 512x512",)


def test_tiny_image_has_zero_sharpness() -> None:
    assert sharpness(photo(2, 2)) == 0.0
