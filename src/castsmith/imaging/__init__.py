"""Pure CPU work on image bytes: inspection, renditions, grid splitting, validation."""

from castsmith.imaging.decode import DEFAULT_MAX_PIXELS
from castsmith.imaging.grid import Box, grid_cells, split_grid
from castsmith.imaging.inspect import ImageInfo, hashes, inspect_image
from castsmith.imaging.renditions import (
    DEFAULT_SIZES,
    Rendition,
    fit_within,
    make_renditions,
    to_jpeg,
    to_png,
)
from castsmith.imaging.sniff import sniff_content_type, sniff_format
from castsmith.imaging.validate import ImageCheck, check_image, sharpness

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_SIZES",
    "Box",
    "ImageCheck",
    "ImageInfo",
    "Rendition",
    "check_image",
    "fit_within",
    "grid_cells",
    "hashes",
    "inspect_image",
    "make_renditions",
    "sharpness",
    "sniff_content_type",
    "sniff_format",
    "split_grid",
    "to_jpeg",
    "to_png",
]
