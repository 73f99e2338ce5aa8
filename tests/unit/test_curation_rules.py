"""The curation verdict and readiness rules, on measurements given directly."""

from __future__ import annotations

from castsmith.domain.curation import (
    PLACEHOLDER_NO_FACE,
    ItemVerdict,
    Measurements,
    Thresholds,
    Verdict,
    duplicates,
    judge,
    readiness,
)

GOOD = Measurements(
    faces=1, width=1024, height=1024, sharpness=800, exposure_mean=120, exposure_clipped=0.01
)


def test_a_good_portrait_of_the_actor_is_ok() -> None:
    j = judge(GOOD, Thresholds(), identity_distance=0.35, has_reference=True)
    assert (j.verdict, j.reasons) == (Verdict.OK, ())


def test_the_actor_threshold_overrides_the_default() -> None:
    strict = Thresholds().for_actor(0.3)
    j = judge(GOOD, strict, identity_distance=0.35, has_reference=True)
    assert j.verdict is Verdict.REJECT
    assert j.reasons == ("another person: distance 0.35, threshold 0.30",)
    assert Thresholds().for_actor(None) == Thresholds()


def test_placeholder_art_without_a_face_is_usable_and_says_so() -> None:
    art = Measurements(
        faces=0,
        width=1024,
        height=1024,
        sharpness=20,
        exposure_mean=120,
        exposure_clipped=0.0,
        placeholder=True,
    )
    j = judge(art, Thresholds(), identity_distance=None, has_reference=False)
    assert j.verdict is Verdict.OK
    assert j.reasons == (PLACEHOLDER_NO_FACE,)


def test_dark_small_and_clipped_images_get_warnings() -> None:
    dim = Measurements(
        faces=1, width=400, height=300, sharpness=500, exposure_mean=20, exposure_clipped=0.4
    )
    j = judge(dim, Thresholds(), identity_distance=0.2, has_reference=True)
    assert j.verdict is Verdict.WARN
    assert j.reasons == (
        "small: 400x300, at least 512 px a side",
        "too dark: mean brightness 20 of 255",
        "clipped: 40% of pixels are pure black or white",
    )


def test_without_a_reference_face_identity_is_unchecked() -> None:
    j = judge(GOOD, Thresholds(), identity_distance=None, has_reference=False)
    assert j.verdict is Verdict.WARN
    assert j.reasons == ("identity not checked: the base image shows no face",)


def test_duplicates_keep_the_first_image_as_the_original() -> None:
    hashes = [
        ("a.jpg", "ffff0000ffff0000"),
        ("b.jpg", "0f0f0f0f0f0f0f0f"),
        ("c.jpg", "ffff0000ffff0001"),
        ("d.jpg", None),
    ]
    assert duplicates(hashes, 4) == {"c.jpg": "a.jpg"}
    assert duplicates(hashes, 0) == {}


def _items(ok: int, **extra: Verdict) -> list[ItemVerdict]:
    items = [
        ItemVerdict(f"x_{n}.jpg", Verdict.OK, (), identity_distance=0.3 + n / 100)
        for n in range(ok)
    ]
    return items + [ItemVerdict(name, verdict, ("why",)) for name, verdict in extra.items()]


def test_a_dataset_of_enough_good_images_is_ready() -> None:
    report = readiness(_items(10), Thresholds())
    assert report.ready and report.usable == 10 and report.reasons == ()
    assert report.identity_median == 0.345 and report.identity_worst == 0.39


def test_a_suggested_rejection_or_a_pending_check_stops_the_dataset() -> None:
    report = readiness(_items(12, stranger=Verdict.REJECT, fresh=Verdict.PENDING), Thresholds())
    assert not report.ready
    assert report.flagged == ("stranger",)
    assert report.reasons == (
        "1 image(s) are still being checked; wait for the checks",
        "1 image(s) should be rejected (stranger): reject them, or replace them with better ones",
    )


def test_too_few_usable_images_are_not_ready() -> None:
    report = readiness(_items(3, soft=Verdict.WARN), Thresholds(min_images=5))
    assert not report.ready and report.usable == 4
    assert report.reasons == ("4 usable image(s), at least 5 needed: generate or upload more",)
    assert report.as_dict()["counts"] == {
        "images": 4,
        "usable": 4,
        "pending": 0,
        "warn": 1,
        "reject_suggested": 0,
        "placeholder": 0,
        "duplicates": 0,
        "blurred": 0,
    }


def test_placeholder_art_still_being_checked_is_usable_and_does_not_hold_the_dataset() -> None:
    art = [ItemVerdict(f"art_{n}.jpg", Verdict.PENDING, (), placeholder=True) for n in range(10)]
    report = readiness(art, Thresholds())
    assert report.ready and report.usable == 10 and report.pending == 0
    assert report.reasons == ("10 image(s) are placeholder art: identity not checked",)
    photo = ItemVerdict("photo.jpg", Verdict.PENDING, ())
    waiting = readiness([*art, photo], Thresholds())
    assert not waiting.ready and waiting.pending == 1
