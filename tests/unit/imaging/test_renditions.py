"""WebP renditions and the JPEG/PNG converters, checked on the decoded outputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageCms
from skimage.metrics import structural_similarity

from castsmith.domain.errors import DecompressionBomb, ImageError
from castsmith.imaging import fit_within, make_renditions, sniff_format, to_jpeg, to_png

from .pictures import decode, encode, mean_colour, photo

RED, BLUE = (200, 30, 30), (30, 30, 200)


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (1024, 1024, {"sm": (256, 256), "md": (512, 512), "lg": (1024, 1024)}),
        (1200, 2400, {"sm": (128, 256), "md": (256, 512), "lg": (512, 1024)}),  # portrait
        (1500, 900, {"sm": (256, 154), "md": (512, 307), "lg": (1024, 614)}),  # landscape
        (100, 80, {"sm": (100, 80), "md": (100, 80), "lg": (100, 80)}),  # tiny: never enlarged
        (300, 700, {"sm": (110, 256), "md": (219, 512), "lg": (300, 700)}),
    ],
)
def test_rendition_sizes(width: int, height: int, expected: dict[str, tuple[int, int]]) -> None:
    renditions = make_renditions(encode(photo(width, height), "PNG"))
    assert list(renditions) == ["sm", "md", "lg"]
    for name, rendition in renditions.items():
        assert (rendition.width, rendition.height) == expected[name]
        assert decode(rendition.data).size == expected[name]
        assert rendition.name == name
        assert rendition.content_type == "image/webp"
        assert rendition.size_bytes == len(rendition.data)
        assert sniff_format(rendition.data) == "WEBP"
        assert decode(rendition.data).format == "WEBP"


def test_fit_within_matches_pillow_thumbnail() -> None:
    for width in (1, 3, 255, 256, 257, 511, 999, 1023, 1500, 4000):
        for height in (1, 2, 255, 333, 512, 1001, 2999):
            for box in (64, 256, 1024):
                image = Image.new("L", (width, height))
                image.thumbnail((box, box))
                assert fit_within(width, height, box) == image.size, (width, height, box)


def test_custom_sizes_keep_their_names() -> None:
    renditions = make_renditions(encode(photo(400, 400), "PNG"), {"thumb": 64, "big": 300})
    assert {name: (r.width, r.height) for name, r in renditions.items()} == {
        "thumb": (64, 64),
        "big": (300, 300),
    }
    assert make_renditions(encode(photo(40, 40), "PNG"), {}) == {}
    with pytest.raises(ValueError, match="positive"):
        make_renditions(encode(photo(40, 40), "PNG"), {"zero": 0})


def _sideways_jpeg() -> bytes:
    """Stored 200x100, red left half, blue right half, tagged "rotate 90 CW to view"."""
    image = Image.new("RGB", (200, 100), BLUE)
    image.paste(RED, (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation
    exif[0x010F] = "Castsmith Test Camera"  # make
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(image, "JPEG", exif=exif, icc_profile=srgb, xmp=b"<x:xmpmeta/>", quality=95)


def test_exif_orientation_is_applied() -> None:
    renditions = make_renditions(_sideways_jpeg())
    upright = decode(renditions["lg"].data).convert("RGB")
    assert upright.size == (100, 200)
    top, bottom = upright.crop((0, 0, 100, 90)), upright.crop((0, 110, 100, 200))
    assert np.allclose(mean_colour(top), RED, atol=12)
    assert np.allclose(mean_colour(bottom), BLUE, atol=12)
    assert (renditions["sm"].width, renditions["sm"].height) == (100, 200)


def test_metadata_is_stripped() -> None:
    source = _sideways_jpeg()
    assert {"exif", "icc_profile", "xmp"} <= set(decode(source).info)
    for rendition in make_renditions(source).values():
        out = decode(rendition.data)
        assert not {"exif", "icc_profile", "xmp"} & set(out.info)
        for chunk in (b"EXIF", b"ICCP", b"XMP "):
            assert chunk not in rendition.data
        assert b"Castsmith Test Camera" not in rendition.data


def test_alpha_is_kept() -> None:
    image = photo(300, 300).convert("RGBA")
    alpha = Image.new("L", image.size, 255)
    alpha.paste(0, (0, 0, 150, 300))  # left half fully transparent
    image.putalpha(alpha)
    for rendition in make_renditions(encode(image, "PNG")).values():
        out = decode(rendition.data)
        assert out.mode == "RGBA"
        w, h = out.size
        assert out.getpixel((2, h // 2))[3] == 0
        assert out.getpixel((w - 3, h // 2))[3] == 255


@pytest.mark.parametrize(("fmt", "params"), [("JPEG", {}), ("GIF", {}), ("WEBP", {})])
def test_other_source_formats(fmt: str, params: dict) -> None:
    renditions = make_renditions(encode(photo(600, 400), fmt, **params))
    assert (renditions["md"].width, renditions["md"].height) == (512, 341)
    assert all(sniff_format(r.data) == "WEBP" for r in renditions.values())


def test_large_jpeg_is_decoded_at_reduced_scale_without_losing_size() -> None:
    # 4200x2800 decodes at half scale (still covering twice the largest size).
    big = Image.radial_gradient("L").resize((4200, 2800)).convert("RGB")
    renditions = make_renditions(encode(big, "JPEG", quality=90))
    assert (renditions["lg"].width, renditions["lg"].height) == (1024, 683)
    assert (renditions["sm"].width, renditions["sm"].height) == (256, 171)


def test_progressive_resizing_keeps_quality() -> None:
    source = photo(1024, 1024, seed=5)
    renditions = make_renditions(encode(source, "PNG"))
    for name in ("sm", "md"):
        out = decode(renditions[name].data).convert("RGB")
        reference = source.resize(out.size, Image.Resampling.LANCZOS)
        score = structural_similarity(
            np.asarray(reference), np.asarray(out), channel_axis=2, data_range=255
        )
        assert score > 0.9, (name, score)


def test_parallel_and_sequential_give_identical_bytes() -> None:
    data = encode(photo(700, 500), "PNG")
    parallel = make_renditions(data, small_method=5)
    sequential = make_renditions(data, parallel=False, small_method=5)
    assert {k: v.data for k, v in parallel.items()} == {k: v.data for k, v in sequential.items()}


def test_effort_only_changes_bytes_not_shapes() -> None:
    data = encode(photo(700, 500), "PNG")
    fast = make_renditions(data, method=0, small_method=0)
    thorough = make_renditions(data, method=6, small_method=6)
    for name in fast:
        assert (fast[name].width, fast[name].height) == (
            thorough[name].width,
            thorough[name].height,
        )
    assert sum(r.size_bytes for r in thorough.values()) < sum(r.size_bytes for r in fast.values())


def test_non_images_are_refused() -> None:
    with pytest.raises(ImageError, match="not an image"):
        make_renditions(b"%PDF-1.7 not a picture")


def test_to_jpeg_flattens_alpha_on_white_and_applies_orientation() -> None:
    image = Image.new("RGBA", (80, 60), (0, 0, 0, 0))
    image.paste((10, 120, 10, 255), (40, 0, 80, 60))
    jpeg = to_jpeg(encode(image, "PNG"))
    out = decode(jpeg)
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (80, 60))
    assert np.allclose(mean_colour(out.crop((0, 0, 36, 60))), (255, 255, 255), atol=3)
    assert np.allclose(mean_colour(out.crop((44, 0, 80, 60))), (10, 120, 10), atol=6)

    upright = decode(to_jpeg(_sideways_jpeg(), quality=80))
    assert upright.size == (100, 200)
    assert "exif" not in upright.info and "icc_profile" not in upright.info


def test_to_png_keeps_pixels_and_drops_metadata() -> None:
    source = photo(90, 70)
    png = to_png(encode(source, "WEBP", lossless=True))
    out = decode(png)
    assert (out.format, out.size) == ("PNG", (90, 70))
    assert np.array_equal(np.asarray(out), np.asarray(source))
    upright = decode(to_png(_sideways_jpeg()))
    assert upright.size == (100, 200)
    assert not {"exif", "icc_profile", "xmp"} & set(upright.info)


def test_cmyk_and_greyscale_sources_become_rgb() -> None:
    cmyk = photo(64, 64).convert("CMYK")
    assert decode(to_png(encode(cmyk, "JPEG"))).mode == "RGB"
    grey16 = Image.fromarray((np.arange(64 * 64, dtype=np.uint16) * 16).reshape(64, 64))
    out = decode(to_png(encode(grey16, "PNG")))
    assert out.mode == "RGB"
    assert out.getpixel((63, 63))[0] == (64 * 64 - 1) * 16 >> 8


def test_pixel_limit_applies_before_decoding() -> None:
    with pytest.raises(DecompressionBomb, match="above the 10000 px limit"):
        make_renditions(encode(photo(200, 200), "PNG"), max_pixels=10_000)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_unreadable_exif_is_ignored() -> None:
    data = encode(photo(120, 80), "JPEG", exif=b"Exif\x00\x00MM\x00*garbage")
    renditions = make_renditions(data)
    assert (renditions["lg"].width, renditions["lg"].height) == (120, 80)
