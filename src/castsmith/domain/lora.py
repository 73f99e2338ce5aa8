"""LoRA trainings: the parameters a user may set, the states a training goes through,
the test grid every new version is drawn with, and the safetensors header check.

Pure rules, no I/O. The trainers (offline, Replicate, fal) and the training job use
these so that a bad request is refused the same way in the API, the CLI and the worker.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import asdict, dataclass
from typing import Any

from castsmith.domain.errors import ValidationError

QUEUED = "queued"
SUBMITTING = "submitting"
RUNNING = "running"
STORING = "storing"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})

SOURCE_TRAINED = "trained"
SOURCE_IMPORTED = "imported"

RESOLUTIONS = (512, 768, 1024)
MAX_STEPS = 10_000
MAX_RANK = 128

# The grid every new version is drawn with: same prompts and seeds each time, so two
# versions can be compared cell by cell.
TEST_STRENGTHS = (0.6, 0.8, 1.0)
TEST_PROMPTS = (
    "{trigger} portrait, studio light, looking at the camera",
    "{trigger} walking in a park, full body, daylight",
    "{trigger} close-up, cinematic side light, neutral background",
)
TEST_SEEDS = (1101, 2202, 3303)

# A safetensors file starts with a little-endian u64 header length and that many bytes
# of JSON; the reference implementation refuses headers above 100 MB.
HEADER_LENGTH_BYTES = 8
MAX_HEADER_BYTES = 100 * 1024 * 1024

_TRIGGER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,63}")


def check_trigger_word(value: str | None, field: str = "trigger_word") -> str:
    """A trigger word: one token of letters, digits, ``_`` or ``-`` (2-64 characters)."""
    if value is None or not value.strip():
        raise ValidationError(
            "a trigger word is needed: the actor has none, so give trigger_word", field
        )
    word = value.strip()
    if not _TRIGGER.fullmatch(word):
        raise ValidationError(
            f"trigger word {word!r} must be one word of 2-64 letters, digits, '_' or '-'", field
        )
    return word


@dataclass(frozen=True)
class TrainingParams:
    """What a training is asked for; defaults follow the Replicate Flux trainer."""

    trigger_word: str
    steps: int = 1000
    rank: int = 16
    learning_rate: float = 4e-4
    resolution: int = 1024

    def validate(self) -> TrainingParams:
        """Return ``self`` when every value is in range, else ``ValidationError``."""
        check_trigger_word(self.trigger_word)
        _int_in(self.steps, "steps", 1, MAX_STEPS)
        _int_in(self.rank, "rank", 1, MAX_RANK)
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr <= 0.01:
            raise ValidationError(
                f"learning_rate must be above 0 and at most 0.01, got {lr!r}", "learning_rate"
            )
        if self.resolution not in RESOLUTIONS:
            allowed = ", ".join(str(r) for r in RESOLUTIONS)
            raise ValidationError(
                f"resolution must be one of {allowed}, got {self.resolution!r}", "resolution"
            )
        return self

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the training row and job payload."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingParams:
        """Read parameters back from :meth:`as_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _int_in(value: object, field: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{field} must be a whole number {low}-{high}, got {value!r}", field)


@dataclass(frozen=True)
class GridCell:
    """One picture of a test grid."""

    n: int
    prompt: str
    strength: float
    seed: int


def grid_cells(trigger_word: str) -> list[GridCell]:
    """The cells of a LoRA test grid: every fixed prompt at every strength."""
    cells: list[GridCell] = []
    for prompt, seed in zip(TEST_PROMPTS, TEST_SEEDS, strict=True):
        for strength in TEST_STRENGTHS:
            text = prompt.format(trigger=trigger_word)
            cells.append(GridCell(len(cells), text, strength, seed))
    return cells


def check_strength(value: object) -> float:
    """A strength picked from the test grid (one of :data:`TEST_STRENGTHS`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError("strength must be a number", "strength")
    for allowed in TEST_STRENGTHS:
        if abs(float(value) - allowed) < 1e-6:
            return allowed
    choices = ", ".join(str(s) for s in TEST_STRENGTHS)
    raise ValidationError(f"strength must be one of {choices}, got {value!r}", "strength")


def header_length(first: bytes) -> int:
    """The JSON header length from a safetensors file's first 8 bytes."""
    if len(first) < HEADER_LENGTH_BYTES:
        raise ValidationError("the weights file is not safetensors: it is too short", "weights")
    (length,) = struct.unpack("<Q", first[:HEADER_LENGTH_BYTES])
    if length < 2 or length > MAX_HEADER_BYTES:
        raise ValidationError(
            f"the weights file is not safetensors: header length {length} is out of range",
            "weights",
        )
    return int(length)


def parse_header(first: bytes, total_size: int) -> dict[str, Any]:
    """The safetensors header (tensor table and ``__metadata__``) or ``ValidationError``.

    ``first`` holds at least the 8 length bytes and the JSON header; ``total_size`` is the
    file's size, against which every tensor's offsets are checked.
    """
    length = header_length(first)
    end = HEADER_LENGTH_BYTES + length
    if len(first) < end or total_size < end:
        raise ValidationError("the weights file is not safetensors: it is truncated", "weights")
    try:
        header = json.loads(first[HEADER_LENGTH_BYTES:end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationError(
            "the weights file is not safetensors: its header is not JSON", "weights"
        ) from None
    if not isinstance(header, dict):
        raise ValidationError("the weights file is not safetensors: bad header", "weights")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if not tensors:
        raise ValidationError("the weights file holds no tensors", "weights")
    data_size = total_size - end
    for name, info in tensors.items():
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size
        ):
            raise ValidationError(
                f"the weights file is not safetensors: tensor {name!r} lies outside the file",
                "weights",
            )
    return header
