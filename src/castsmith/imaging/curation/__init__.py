"""The curation checks: faces and identity descriptors, sharpness, exposure, hashes.

Everything here is pure CPU work on image bytes; the rules that judge the figures live
in ``castsmith.domain.curation``.
"""

from castsmith.imaging.curation.analyse import ANALYSIS_VERSION, Analysis, analyse
from castsmith.imaging.curation.faces import Face, find_faces, models_folder, preload
from castsmith.imaging.curation.measure import (
    WORKING_SIDE,
    Quality,
    laplacian_variance,
    measure,
    perceptual_hash,
    working_image,
)

__all__ = [
    "ANALYSIS_VERSION",
    "WORKING_SIDE",
    "Analysis",
    "Face",
    "Quality",
    "analyse",
    "find_faces",
    "laplacian_variance",
    "measure",
    "models_folder",
    "perceptual_hash",
    "preload",
    "working_image",
]
