"""Faces and identity descriptors with dlib's CC0 models, loaded from site-packages.

Three models are used, all offline: dlib's built-in HOG frontal face detector, the
5-point landmark model (alignment) and the ResNet model that maps an aligned face to a
128-d descriptor; dlib documents 0.6 (Euclidean) as the same-person threshold. The
model files come from the ``face-recognition-models`` package. Its 68-point landmark
model is never loaded: its training data carries a non-commercial restriction.

The descriptor's network is computed with NumPy (see ``descriptor``: the same weights
and result, about a fifth of ``dlib-bin``'s CPU time); dlib's own encoder stays loaded
to check that once per process and to take over if the two ever differ.

The models are loaded once per process, on first use; a process pool therefore pays
for loading once per worker process.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from castsmith.domain.errors import ConfigurationError
from castsmith.imaging.curation.descriptor import (
    CHIP_PADDING,
    CHIP_SIDE,
    Descriptor,
    ModelFormatError,
    limit_blas_threads,
    load_descriptor,
)

LANDMARKS_FILE: Final = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_FILE: Final = "dlib_face_recognition_resnet_model_v1.dat"
#: Descriptors are computed for at most this many faces (the largest), which bounds the
#: time an image with a crowd in it can take.
MAX_DESCRIBED_FACES: Final = 4
#: The NumPy descriptor is used only if it agrees with dlib's this closely (per
#: component) on a test chip; the stored descriptors keep 6 decimals.
AGREEMENT: Final = 1e-4

log = logging.getLogger("castsmith.imaging.curation")


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face: its box in the analysed image's pixels and its descriptor."""

    left: int
    top: int
    right: int
    bottom: int
    score: float
    descriptor: tuple[float, ...] | None

    @property
    def area(self) -> int:
        """The box's area in pixels."""
        return max(0, self.right - self.left) * max(0, self.bottom - self.top)


class _Models:
    def __init__(
        self, dlib: Any, detector: Any, landmarks: Any, encoder: Any, fast: Descriptor | None
    ) -> None:
        self.dlib = dlib
        self.detector = detector
        self.landmarks = landmarks
        self.encoder = encoder
        self.fast = fast

    def describe(self, rgb: NDArray[np.uint8], shape: Any) -> tuple[float, ...]:
        """The face's 128-d descriptor, rounded to 6 decimals."""
        if self.fast is None:
            vector: Any = self.encoder.compute_face_descriptor(rgb, shape)
        else:
            # The chip dlib's encoder would cut itself: 150 px, padding 0.25.
            chip = self.dlib.get_face_chip(rgb, shape, size=CHIP_SIDE, padding=CHIP_PADDING)
            vector = self.fast(np.asarray(chip, dtype=np.uint8))
        return tuple(round(float(v), 6) for v in vector)


def _checked_descriptor(dlib: Any, encoder: Any, path: Path) -> Descriptor | None:
    """The NumPy descriptor if it reads ``path`` and agrees with dlib's ``encoder`` on a
    test chip; None (dlib's encoder is used) otherwise."""
    # Noise exercises every weight; a fixed seed makes the check repeatable.
    chip = np.random.default_rng(0).integers(0, 256, (CHIP_SIDE, CHIP_SIDE, 3), dtype=np.uint8)
    try:
        fast = load_descriptor(path)
        computed = fast(chip)
    except (ModelFormatError, OSError, ValueError, IndexError):
        log.warning("the face descriptor model has another format: using dlib's encoder")
        return None
    expected = np.asarray(encoder.compute_face_descriptor(chip), dtype=np.float64)
    difference = float(np.abs(computed - expected).max())
    if difference > AGREEMENT:
        log.warning("the NumPy face descriptor differs by %.2g: using dlib's encoder", difference)
        return None
    return fast


_lock = threading.Lock()
_models: _Models | None = None


def models_folder() -> Path:
    """The folder of ``face-recognition-models``' files, found without importing the
    package (its ``__init__`` needs ``pkg_resources``, which is not installed)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "the face models are missing: install the 'face-recognition-models' package"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _load() -> _Models:
    global _models
    with _lock:
        if _models is None:
            try:
                import dlib
            except ImportError as exc:
                raise ConfigurationError(
                    "the face checks need dlib: install the 'dlib-bin' package"
                ) from exc
            folder = models_folder()
            encoder = dlib.face_recognition_model_v1(str(folder / DESCRIPTOR_FILE))
            _models = _Models(
                dlib,
                dlib.get_frontal_face_detector(),
                dlib.shape_predictor(str(folder / LANDMARKS_FILE)),
                encoder,
                _checked_descriptor(dlib, encoder, folder / DESCRIPTOR_FILE),
            )
        return _models


def preload() -> None:
    """Make this process a check process: NumPy's BLAS on one thread (one process per
    core, see ``limit_blas_threads``) and the models loaded now. A process pool's
    initializer calls this, and the benchmark does for its one-core figures."""
    limit_blas_threads(1)
    _load()


def find_faces(rgb: NDArray[np.uint8], *, describe: bool = True) -> list[Face]:
    """Detect faces in an RGB array, largest first, with descriptors when ``describe``.

    The detector runs without upsampling first; only when it finds nothing does it look
    again at twice the size (four times the cost), so small faces are still found while
    the usual portrait stays cheap.
    """
    models = _load()
    array = np.ascontiguousarray(rgb)
    boxes, scores, _ = models.detector.run(array, 0, 0.0)
    if len(boxes) == 0:
        boxes, scores, _ = models.detector.run(array, 1, 0.0)
    found = sorted(zip(boxes, scores, strict=True), key=lambda pair: -pair[0].area())
    faces: list[Face] = []
    for index, (box, score) in enumerate(found):
        descriptor: tuple[float, ...] | None = None
        if describe and index < MAX_DESCRIBED_FACES:
            descriptor = models.describe(array, models.landmarks(array, box))
        faces.append(
            Face(
                left=int(box.left()),
                top=int(box.top()),
                right=int(box.right()),
                bottom=int(box.bottom()),
                score=round(float(score), 3),
                descriptor=descriptor,
            )
        )
    return faces
