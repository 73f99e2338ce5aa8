"""One image's curation measurements, from its bytes: faces, quality, size, hash.

:func:`analyse` is pure CPU work with no shared state beyond the loaded face models, so
the pipelines run it in a pool of worker processes, one image per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from castsmith.imaging.curation.faces import Face, find_faces
from castsmith.imaging.curation.measure import WORKING_SIDE, Quality, measure, working_image
from castsmith.imaging.decode import DEFAULT_MAX_PIXELS, normalise, open_image
from castsmith.imaging.sniff import header_size

#: Bump when a change to the measurements makes stored results outdated.
ANALYSIS_VERSION: Final = 1
#: EXIF orientations that turn the picture by 90 degrees.
_QUARTER_TURNS: Final = frozenset({5, 6, 7, 8})


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything measured on one image. ``width``/``height`` are the upright image's;
    face boxes are in the pixels of the working-size image (``work_width`` wide)."""

    width: int
    height: int
    work_width: int
    work_height: int
    faces: tuple[Face, ...]
    quality: Quality
    version: int = ANALYSIS_VERSION

    @property
    def descriptors(self) -> list[tuple[float, ...]]:
        """The descriptors of the faces that have one."""
        return [face.descriptor for face in self.faces if face.descriptor is not None]

    def faces_json(self) -> list[dict[str, Any]]:
        """The faces as JSON-ready dicts (box, score, descriptor)."""
        return [
            {
                "box": [face.left, face.top, face.right, face.bottom],
                "score": face.score,
                "descriptor": list(face.descriptor) if face.descriptor else None,
            }
            for face in self.faces
        ]


def analyse(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, find_faces_too: bool = True
) -> Analysis:
    """Decode ``data`` and measure it. Raises ``ImageError`` for bytes that are no image.

    Without ``find_faces_too`` the face detector is not run (placeholder art, whose
    drawn faces are no one's identity).
    """
    # Decoding a large JPEG at 1/2..1/8 scale is several times faster; the working image
    # is small anyway.
    decoded, fmt = open_image(data, max_pixels=max_pixels, draft_box=(WORKING_SIDE, WORKING_SIDE))
    width, height = header_size(data, fmt)
    if decoded.getexif().get(0x0112) in _QUARTER_TURNS:
        width, height = height, width
    work = working_image(normalise(decoded))
    faces = find_faces(np.asarray(work, dtype=np.uint8)) if find_faces_too else []
    return Analysis(
        width=width,
        height=height,
        work_width=work.width,
        work_height=work.height,
        faces=tuple(faces),
        quality=measure(work),
    )
