"""Job statuses, run outcomes, allowed transitions and the retry policy (pure rules).

A job moves through::

    queued ──claim──> running ──ok──> completed
      ^                 │  │ └─wait──> waiting ──children end──> completed
      │                 │  │                                     completed_with_errors
      └──retry/lost─────┘  └─error──> failed                     failed
    (any unfinished) ──cancel──> cancelled
    failed / cancelled ──retry──> queued

Every attempt is a run whose outcome is one of :data:`RUN_OUTCOMES`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

QUEUED = "queued"
RUNNING = "running"
WAITING = "waiting"
COMPLETED = "completed"
COMPLETED_WITH_ERRORS = "completed_with_errors"
FAILED = "failed"
CANCELLED = "cancelled"

JOB_STATUSES = (QUEUED, RUNNING, WAITING, COMPLETED, COMPLETED_WITH_ERRORS, FAILED, CANCELLED)
TERMINAL_STATUSES = frozenset({COMPLETED, COMPLETED_WITH_ERRORS, FAILED, CANCELLED})
ACTIVE_STATUSES = frozenset({QUEUED, RUNNING, WAITING})
SUCCESS_STATUSES = frozenset({COMPLETED, COMPLETED_WITH_ERRORS})
RETRYABLE_BY_USER = frozenset({FAILED, CANCELLED})

RUN_RUNNING = "running"
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"
RUN_RETRYING = "retrying"
RUN_LOST = "lost"
RUN_CANCELLED = "cancelled"
RUN_TIMED_OUT = "timed_out"

RUN_OUTCOMES = (
    RUN_RUNNING,
    RUN_SUCCEEDED,
    RUN_FAILED,
    RUN_RETRYING,
    RUN_LOST,
    RUN_CANCELLED,
    RUN_TIMED_OUT,
)

TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({RUNNING, CANCELLED}),
    # A finalize stage runs as ``running`` and ends with its children's aggregate.
    RUNNING: frozenset({QUEUED, WAITING, COMPLETED, COMPLETED_WITH_ERRORS, FAILED, CANCELLED}),
    WAITING: frozenset({QUEUED, COMPLETED, COMPLETED_WITH_ERRORS, FAILED, CANCELLED}),
    COMPLETED: frozenset(),
    COMPLETED_WITH_ERRORS: frozenset(),
    FAILED: frozenset({QUEUED}),
    CANCELLED: frozenset({QUEUED}),
}


def can_transition(current: str, new: str) -> bool:
    """Whether a job may move from ``current`` to ``new``."""
    return new in TRANSITIONS.get(current, frozenset())


class IllegalTransition(ValueError):
    """A write would move a job along an edge :data:`TRANSITIONS` does not have."""


def require_transition(current: str, new: str) -> str:
    """``new`` if a job may move there from ``current``; :class:`IllegalTransition` if not.

    Every write of a job's status in the engine goes through this, so the table above
    is the rule and not a description of it.
    """
    if not can_transition(current, new):
        raise IllegalTransition(f"a {current} job cannot become {new}")
    return new


def is_terminal(status: str) -> bool:
    """True for statuses a job never leaves on its own."""
    return status in TERMINAL_STATUSES


def aggregate_children(statuses: Iterable[str]) -> str:
    """A parent's final status from its children's final statuses.

    All succeeded (or no children) -> ``completed``; none succeeded -> ``failed``;
    otherwise ``completed_with_errors``. A cancelled child counts as not succeeded.
    """
    values = list(statuses)
    if not values:
        return COMPLETED
    ok = sum(1 for status in values if status in SUCCESS_STATUSES)
    if ok == len(values):
        return COMPLETED
    if ok == 0:
        return FAILED
    return COMPLETED_WITH_ERRORS


def children_error(status: str, failed: int, total: int) -> str | None:
    """The error a parent shows for its children's ``status`` (``None`` when all succeeded)."""
    if status == FAILED:
        return f"all {total} child jobs failed"
    if status == COMPLETED_WITH_ERRORS:
        return f"{failed} of {total} child jobs failed"
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**(n-1)))``.

    ``attempt`` is the number of the attempt that just failed (1 for the first). A
    provider's ``retry_after`` is a floor: the next attempt never starts before it.
    """

    base: float = 2.0
    cap: float = 300.0

    def ceiling(self, attempt: int) -> float:
        """The largest delay the jitter may pick after ``attempt`` failed."""
        exponent = max(attempt - 1, 0)
        # Cap the exponent first so a large attempt count cannot overflow a float.
        return float(min(self.cap, self.base * 2.0 ** min(exponent, 62)))

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds to wait before the next attempt."""
        chooser = rng or random
        jittered = float(chooser.uniform(0.0, self.ceiling(attempt)))
        if retry_after is not None and retry_after > jittered:
            return float(retry_after)
        return jittered


def should_retry(retryable: bool, attempts: int, max_attempts: int) -> bool:
    """Whether another attempt is scheduled after a failed one."""
    return retryable and attempts < max_attempts
