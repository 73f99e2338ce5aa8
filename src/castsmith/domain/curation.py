"""Curation rules: what makes a dataset image good, doubtful or worth rejecting.

The imaging room measures an image (faces, sharpness, exposure, size, perceptual hash);
these rules turn the measurements into a verdict with its reasons in words, and a set of
verdicts into an actor's readiness report. Nothing here reads bytes or rows, so the same
rules judge a stored dataset, a fresh upload and a persona's split images alike.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

#: dlib documents 0.6 (Euclidean, between 128-d descriptors) as the same-person threshold.
DEFAULT_IDENTITY_THRESHOLD: Final = 0.6
#: Variance of the Laplacian at the 512 px working size below which a photograph is soft.
DEFAULT_MIN_SHARPNESS: Final = 100.0
#: Two 64-bit perceptual hashes this close (in bits) are copies of one picture.
DEFAULT_DUPLICATE_BITS: Final = 8
#: The short side a LoRA trainer wants at least.
DEFAULT_MIN_SIDE: Final = 512
#: Usable images a dataset needs before a training is worth paying for.
DEFAULT_MIN_IMAGES: Final = 10
#: Mean luminance (0-255) outside this band reads as under- or over-exposed.
DARK_MEAN: Final = 40.0
BRIGHT_MEAN: Final = 215.0
#: Share of pixels at the ends of the range above which highlights or shadows are lost.
MAX_CLIPPED: Final = 0.25

PLACEHOLDER_NO_FACE: Final = "no face found (placeholder art)"


class Verdict(StrEnum):
    """The outcome for one image; ``pending`` while its check has not run yet."""

    OK = "ok"
    WARN = "warn"
    REJECT = "reject-suggested"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The limits the rules apply; settings give the defaults, an actor may override
    the identity threshold."""

    identity: float = DEFAULT_IDENTITY_THRESHOLD
    min_sharpness: float = DEFAULT_MIN_SHARPNESS
    duplicate_bits: int = DEFAULT_DUPLICATE_BITS
    min_side: int = DEFAULT_MIN_SIDE
    min_images: int = DEFAULT_MIN_IMAGES

    def for_actor(self, identity: float | None) -> Thresholds:
        """These thresholds with the actor's own identity threshold, when it has one."""
        return self if identity is None else replace(self, identity=identity)


@dataclass(frozen=True, slots=True)
class Measurements:
    """What was measured on one image (see ``imaging.curation``)."""

    faces: int
    width: int
    height: int
    sharpness: float
    exposure_mean: float
    exposure_clipped: float
    placeholder: bool = False


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict and the sentences that explain it."""

    verdict: Verdict
    reasons: tuple[str, ...]


def judge(
    facts: Measurements,
    thresholds: Thresholds,
    *,
    identity_distance: float | None,
    has_reference: bool,
    duplicate_of: str | None = None,
) -> Judgement:
    """Apply the rules to one image.

    ``identity_distance`` is the distance of the image's closest face to the reference
    identity (``None`` when either has no face); ``duplicate_of`` names the earlier image
    this one copies.
    """
    rejects: list[str] = []
    warns: list[str] = []
    if facts.faces == 0:
        if facts.placeholder:
            # Placeholder art has no real faces; saying so is information, not a fault.
            return _with_quality(facts, thresholds, duplicate_of, [], [], PLACEHOLDER_NO_FACE)
        rejects.append("no face found")
    elif facts.faces > 1:
        warns.append(f"{_count_words(facts.faces)} faces")
    if identity_distance is not None:
        if identity_distance > thresholds.identity:
            rejects.append(
                f"another person: distance {identity_distance:.2f}, "
                f"threshold {thresholds.identity:.2f}"
            )
    elif facts.faces and not has_reference:
        warns.append("identity not checked: the base image shows no face")
    return _with_quality(facts, thresholds, duplicate_of, rejects, warns)


def _with_quality(
    facts: Measurements,
    thresholds: Thresholds,
    duplicate_of: str | None,
    rejects: list[str],
    warns: list[str],
    note: str | None = None,
) -> Judgement:
    if duplicate_of is not None:
        rejects.append(f"near-copy of {duplicate_of}")
    if facts.sharpness < thresholds.min_sharpness and not facts.placeholder:
        rejects.append(
            f"blurred: sharpness {facts.sharpness:.0f}, at least {thresholds.min_sharpness:.0f}"
        )
    if min(facts.width, facts.height) < thresholds.min_side:
        warns.append(
            f"small: {facts.width}x{facts.height}, at least {thresholds.min_side} px a side"
        )
    if facts.exposure_mean < DARK_MEAN:
        warns.append(f"too dark: mean brightness {facts.exposure_mean:.0f} of 255")
    elif facts.exposure_mean > BRIGHT_MEAN:
        warns.append(f"too bright: mean brightness {facts.exposure_mean:.0f} of 255")
    if facts.exposure_clipped > MAX_CLIPPED:
        warns.append(f"clipped: {facts.exposure_clipped:.0%} of pixels are pure black or white")
    reasons = tuple(([note] if note else []) + rejects + warns)
    if rejects:
        return Judgement(Verdict.REJECT, reasons)
    return Judgement(Verdict.WARN if warns else Verdict.OK, reasons)


def _count_words(n: int) -> str:
    words = {2: "two", 3: "three", 4: "four", 5: "five"}
    return words.get(n, str(n))


def descriptor_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Euclidean distance between two face descriptors."""
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def closest_distance(
    faces: Sequence[Sequence[float]], reference: Sequence[float] | None
) -> float | None:
    """The distance of the face closest to ``reference`` (``None`` without both)."""
    if reference is None or not faces:
        return None
    return min(descriptor_distance(face, reference) for face in faces)


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex-encoded 64-bit hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def duplicates(hashes: Sequence[tuple[str, str | None]], max_bits: int) -> dict[str, str]:
    """Map each near-copy's name to the first (in the given order) image it copies.

    ``hashes`` is ``(name, phash)`` in dataset order; images without a hash are skipped.
    The first image of a group is the original and is not in the result.
    """
    originals: list[tuple[str, str]] = []
    copies: dict[str, str] = {}
    for name, phash in hashes:
        if phash is None:
            continue
        match = next((orig for orig, h in originals if hamming(h, phash) <= max_bits), None)
        if match is None:
            originals.append((name, phash))
        else:
            copies[name] = match
    return copies


@dataclass(frozen=True, slots=True)
class ItemVerdict:
    """One dataset image as the readiness report sees it."""

    name: str
    verdict: Verdict
    reasons: tuple[str, ...]
    identity_distance: float | None = None
    placeholder: bool = False
    duplicate_of: str | None = None
    blurred: bool = False


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    """Whether a dataset is worth training on, with the figures and what to do."""

    ready: bool
    images: int
    usable: int
    pending: int
    warned: int
    reject_suggested: int
    placeholder: int
    duplicates: int
    blurred: int
    identity_median: float | None
    identity_worst: float | None
    min_images: int
    identity_threshold: float
    reasons: tuple[str, ...] = field(default_factory=tuple)
    flagged: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        """JSON form for the API, the CLI and job errors."""
        return {
            "ready": self.ready,
            "counts": {
                "images": self.images,
                "usable": self.usable,
                "pending": self.pending,
                "warn": self.warned,
                "reject_suggested": self.reject_suggested,
                "placeholder": self.placeholder,
                "duplicates": self.duplicates,
                "blurred": self.blurred,
            },
            "identity": {
                "median": self.identity_median,
                "worst": self.identity_worst,
                "threshold": self.identity_threshold,
            },
            "min_images": self.min_images,
            "reasons": list(self.reasons),
            "flagged": list(self.flagged),
        }


def readiness(items: Sequence[ItemVerdict], thresholds: Thresholds) -> ReadinessReport:
    """Judge a dataset (its images not rejected by the user) as a whole.

    Placeholder art counts as usable whether or not its check has run: its checks can
    only add warnings (no identity, blur or near-copy rules apply to it; short of a file
    that cannot be read), so waiting for them would only slow the offline flows down.
    """
    pending = [i for i in items if i.verdict is Verdict.PENDING and not i.placeholder]
    rejects = [i for i in items if i.verdict is Verdict.REJECT]
    usable = [
        i
        for i in items
        if i.verdict in (Verdict.OK, Verdict.WARN)
        or (i.verdict is Verdict.PENDING and i.placeholder)
    ]
    distances = sorted(i.identity_distance for i in items if i.identity_distance is not None)
    reasons: list[str] = []
    if pending:
        reasons.append(f"{len(pending)} image(s) are still being checked; wait for the checks")
    if rejects:
        names = ", ".join(i.name for i in rejects[:5]) + (" ..." if len(rejects) > 5 else "")
        reasons.append(
            f"{len(rejects)} image(s) should be rejected ({names}): "
            "reject them, or replace them with better ones"
        )
    if len(usable) < thresholds.min_images:
        reasons.append(
            f"{len(usable)} usable image(s), at least {thresholds.min_images} needed: "
            "generate or upload more"
        )
    placeholders = sum(1 for i in usable if i.placeholder)
    if placeholders:
        reasons.append(f"{placeholders} image(s) are placeholder art: identity not checked")
    return ReadinessReport(
        ready=not pending and not rejects and len(usable) >= thresholds.min_images,
        images=len(items),
        usable=len(usable),
        pending=len(pending),
        warned=sum(1 for i in items if i.verdict is Verdict.WARN),
        reject_suggested=len(rejects),
        placeholder=placeholders,
        duplicates=sum(1 for i in items if i.duplicate_of is not None),
        blurred=sum(1 for i in items if i.blurred),
        identity_median=round(statistics.median(distances), 3) if distances else None,
        identity_worst=round(distances[-1], 3) if distances else None,
        min_images=thresholds.min_images,
        identity_threshold=thresholds.identity,
        reasons=tuple(reasons),
        flagged=tuple(i.name for i in rejects),
    )
