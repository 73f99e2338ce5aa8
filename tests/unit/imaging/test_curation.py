"""The curation checks on real photographs (see tests/photos for where each comes from)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from castsmith.domain.curation import (
    Measurements,
    Thresholds,
    Verdict,
    closest_distance,
    duplicates,
    hamming,
    judge,
)
from castsmith.domain.errors import ImageError
from castsmith.imaging.curation import Analysis, analyse, models_folder, working_image
from castsmith.imaging.curation.descriptor import ModelFormatError, load_descriptor
from tests.photos import blurred, photo, photo_bytes, resized, side_by_side


@functools.cache
def analysed(name: str) -> Analysis:
    makers = {
        "astronaut_blurred": lambda: blurred("astronaut"),
        "astronaut_resized": lambda: resized("astronaut", 0.6),
        "obama_and_biden": lambda: side_by_side("obama", "biden"),
    }
    return analyse(makers[name]() if name in makers else photo_bytes(name))


def reference(name: str = "obama") -> tuple[float, ...]:
    return analysed(name).descriptors[0]


def verdict_of(name: str, ref: str = "obama", duplicate_of: str | None = None) -> tuple[str, ...]:
    a = analysed(name)
    facts = Measurements(
        faces=len(a.faces),
        width=a.width,
        height=a.height,
        sharpness=a.quality.sharpness,
        exposure_mean=a.quality.exposure_mean,
        exposure_clipped=a.quality.exposure_clipped,
    )
    judgement = judge(
        facts,
        Thresholds(min_side=300),
        identity_distance=closest_distance(a.descriptors, reference(ref)),
        has_reference=True,
        duplicate_of=duplicate_of,
    )
    return (judgement.verdict.value, *judgement.reasons)


@pytest.mark.parametrize("name", ["obama2", "obama3"])
def test_the_same_person_in_other_photographs_is_accepted(name: str) -> None:
    distance = closest_distance(analysed(name).descriptors, reference())
    assert distance is not None and distance < 0.5
    assert verdict_of(name)[0] == Verdict.OK


def test_another_person_is_flagged_with_the_distance() -> None:
    distance = closest_distance(analysed("biden").descriptors, reference())
    assert distance is not None and distance > 0.75
    verdict, *reasons = verdict_of("biden")
    assert verdict == Verdict.REJECT
    assert f"another person: distance {distance:.2f}, threshold 0.60" in reasons


def test_a_blurred_copy_is_flagged_as_blurred() -> None:
    sharp, soft = analysed("astronaut"), analysed("astronaut_blurred")
    assert sharp.quality.sharpness > 10 * soft.quality.sharpness
    verdict, *reasons = verdict_of("astronaut_blurred", ref="astronaut")
    assert verdict == Verdict.REJECT
    assert any(reason.startswith("blurred: sharpness") for reason in reasons)


def test_a_resized_copy_is_found_as_a_near_copy() -> None:
    original, copy = analysed("astronaut"), analysed("astronaut_resized")
    assert hamming(original.quality.phash, copy.quality.phash) <= 2
    names = [
        ("astronaut.jpg", original.quality.phash),
        ("obama.jpg", analysed("obama").quality.phash),
        ("astronaut_small.jpg", copy.quality.phash),
    ]
    assert duplicates(names, 8) == {"astronaut_small.jpg": "astronaut.jpg"}
    verdict, *reasons = verdict_of("astronaut_resized", "astronaut", "astronaut.jpg")
    assert verdict == Verdict.REJECT
    assert "near-copy of astronaut.jpg" in reasons


def test_different_photographs_are_not_near_copies() -> None:
    hashes = [(n, analysed(n).quality.phash) for n in ("obama", "obama2", "obama3", "biden")]
    assert duplicates(hashes, 8) == {}


def test_an_image_without_a_face_is_reported() -> None:
    assert analysed("coffee").faces == ()
    assert verdict_of("coffee")[:2] == (Verdict.REJECT, "no face found")


def test_an_image_with_two_faces_is_reported() -> None:
    a = analysed("obama_and_biden")
    assert len(a.faces) == 2
    verdict, *reasons = verdict_of("obama_and_biden")
    assert "two faces" in reasons
    # The actor's own face is among them, so identity holds.
    assert verdict == Verdict.WARN


def test_faces_come_with_boxes_inside_the_working_image() -> None:
    a = analysed("obama")
    (face,) = a.faces
    assert 0 <= face.left < face.right <= a.work_width
    assert 0 <= face.top < face.bottom <= a.work_height
    assert face.descriptor is not None and len(face.descriptor) == 128
    assert (a.width, a.height) == (910, 1137)


def test_only_the_cc0_models_are_loaded() -> None:
    import castsmith.imaging.curation.faces as faces

    assert "68" not in faces.LANDMARKS_FILE
    assert (models_folder() / faces.LANDMARKS_FILE).is_file()
    assert (models_folder() / faces.DESCRIPTOR_FILE).is_file()


def test_bytes_that_are_no_image_are_refused() -> None:
    with pytest.raises(ImageError):
        analyse(b"not an image at all")


@pytest.mark.parametrize("name", ["obama", "biden", "astronaut"])
def test_the_numpy_descriptor_gives_dlibs_descriptor(name: str) -> None:
    import castsmith.imaging.curation.faces as faces

    models = faces._load()
    # The check at load passed, so the checks use the NumPy network.
    assert models.fast is not None
    rgb = np.asarray(working_image(photo(name)), dtype=np.uint8)
    boxes = models.detector(rgb, 0)
    assert len(boxes) >= 1
    for box in boxes:
        shape = models.landmarks(rgb, box)
        expected = np.asarray(models.encoder.compute_face_descriptor(rgb, shape))
        # describe() rounds to 6 decimals; the networks differ by ~3e-7.
        assert np.abs(np.asarray(models.describe(rgb, shape)) - expected).max() < 2e-6


def test_a_model_file_of_another_kind_is_refused_and_dlib_takes_over() -> None:
    import castsmith.imaging.curation.faces as faces

    with pytest.raises(ModelFormatError):
        load_descriptor(models_folder() / faces.LANDMARKS_FILE)
    models = faces._load()
    landmarks = models_folder() / faces.LANDMARKS_FILE
    assert faces._checked_descriptor(models.dlib, models.encoder, landmarks) is None


def test_a_numpy_descriptor_that_disagrees_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import castsmith.imaging.curation.faces as faces

    models = faces._load()
    path = models_folder() / faces.DESCRIPTOR_FILE
    assert faces._checked_descriptor(models.dlib, models.encoder, path) is not None
    monkeypatch.setattr(faces, "AGREEMENT", -1.0)  # any difference at all is too much
    assert faces._checked_descriptor(models.dlib, models.encoder, path) is None
    # Without it, dlib's encoder gives the descriptor.
    slow = faces._Models(models.dlib, models.detector, models.landmarks, models.encoder, None)
    rgb = np.asarray(working_image(photo("obama")), dtype=np.uint8)
    shape = models.landmarks(rgb, models.detector(rgb, 0)[0])
    assert np.allclose(slow.describe(rgb, shape), models.describe(rgb, shape), atol=2e-6)
