"""Persona tasks: the status flow of a task and of each persona, and progress steps (pure).

A task moves through::

    pending ──> generating-data ──> data-generated ──> generating-images ──> completed
       │               │                                   │    ^           completed_with_errors
       └───────────────┴──────────> failed <───────────────┘    │           failed
                                                                 └── retry-failed (re-runs
                                                                     only the failed personas)

The end of a task is decided by its personas: all of them done -> ``completed`` (empty
error log); some -> ``completed_with_errors`` (the failures in the error log); none ->
``failed``. Each persona (a result) is ``pending``, ``generating``, ``completed`` or
``failed`` on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from castsmith.domain.errors import Conflict

PENDING = "pending"
GENERATING_DATA = "generating-data"
DATA_GENERATED = "data-generated"
GENERATING_IMAGES = "generating-images"
COMPLETED = "completed"
COMPLETED_WITH_ERRORS = "completed_with_errors"
FAILED = "failed"

TASK_STATUSES = (
    PENDING,
    GENERATING_DATA,
    DATA_GENERATED,
    GENERATING_IMAGES,
    COMPLETED,
    COMPLETED_WITH_ERRORS,
    FAILED,
)
FINISHED_STATUSES = frozenset({COMPLETED, COMPLETED_WITH_ERRORS, FAILED})

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({GENERATING_DATA, FAILED}),
    GENERATING_DATA: frozenset({DATA_GENERATED, FAILED}),
    DATA_GENERATED: frozenset({GENERATING_IMAGES, FAILED}),
    GENERATING_IMAGES: frozenset({COMPLETED, COMPLETED_WITH_ERRORS, FAILED}),
    COMPLETED: frozenset(),
    # retry-failed puts a partly or wholly failed task back to work.
    COMPLETED_WITH_ERRORS: frozenset({GENERATING_IMAGES}),
    FAILED: frozenset({GENERATING_IMAGES, PENDING}),
}

RESULT_PENDING = "pending"
RESULT_GENERATING = "generating"
RESULT_COMPLETED = "completed"
RESULT_FAILED = "failed"
RESULT_STATUSES = (RESULT_PENDING, RESULT_GENERATING, RESULT_COMPLETED, RESULT_FAILED)


def can_transition(current: str, new: str) -> bool:
    """Whether a task may move from ``current`` to ``new``."""
    return new in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, new: str) -> str:
    """Return ``new`` if the move is allowed, else raise ``Conflict`` in plain words."""
    if not can_transition(current, new):
        raise Conflict(f"a persona task cannot go from {current!r} to {new!r}")
    return new


def final_status(result_statuses: Iterable[str]) -> str:
    """A task's end from its personas' statuses (no personas at all counts as failed)."""
    values = list(result_statuses)
    done = sum(1 for status in values if status == RESULT_COMPLETED)
    if values and done == len(values):
        return COMPLETED
    if done == 0:
        return FAILED
    return COMPLETED_WITH_ERRORS


def error_entry(firstname: str, lastname: str, result_id: int, error: str) -> dict[str, Any]:
    """One line of a task's error log, as the seed records it."""
    return {"persona": f"{firstname} {lastname}".strip(), "result_id": result_id, "error": error}


def batch_sizes(count: int, batch_size: int) -> list[int]:
    """Split ``count`` personas into batches of at most ``batch_size``."""
    size = max(1, batch_size)
    return [min(size, count - start) for start in range(0, count, size)]


# --- progress ------------------------------------------------------------------------

STEPS = (
    "Generating image prompt",
    "Generating base selfie image",
    "Uploading base image",
    "Generating 4-image grid",
    "Splitting and trimming grid image",
    "Uploading 4 split images",
    "Updating database with image URLs",
)


def step_message(step: int, name: str = "") -> str:
    """``[Name] Step 3/7: Uploading base image...`` (1-based ``step``)."""
    prefix = f"[{name}] " if name else ""
    return f"{prefix}Step {step}/{len(STEPS)}: {STEPS[step - 1]}..."


def step_percent(step: int) -> float:
    """Progress in percent when ``step`` (1-based) starts."""
    return round(100.0 * (step - 1) / len(STEPS), 1)
