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

# Higher runs first. Bounded so nobody jumps the whole queue by a huge number (and so
# the value fits the 32-bit column); only admins and the operator set it at all.
PRIORITY_MIN = -100
PRIORITY_MAX = 100
# Longest idempotency key a caller may give; the stored form adds its owner in front.
IDEMPOTENCY_KEY_MAX = 160
_OPERATOR_KEY = "op"


def scoped_key(owner_id: int | None, key: str | None) -> str | None:
    """The stored form of an idempotency key: the same key of two owners never meets."""
    if not key:
        return None
    owner = _OPERATOR_KEY if owner_id is None else str(owner_id)
    return f"@{owner}/{key}"


def unscoped_key(stored: str | None) -> str | None:
    """The key as its owner gave it (the inverse of :func:`scoped_key`)."""
    if stored is None or not stored.startswith("@") or "/" not in stored:
        return stored
    return stored.partition("/")[2]


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


#: Error categories with retry schedules of their own.
PROVIDER = "provider"
INFRASTRUCTURE = "infrastructure"


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed attempt is tried again, by the category of its error.

    Provider errors (and anything else retryable) back off exponentially with full
    jitter: ``uniform(0, min(cap, base * 2**(n-1)))``. Infrastructure errors (castsmith's
    own database or store unreachable) tend to last minutes, so they get a longer
    schedule with "equal" jitter (never less than half the ceiling), from
    ``infra_base`` up to ``infra_cap`` seconds, and may be tried up to
    ``infra_attempts`` times in all even when the job allows fewer attempts.

    ``attempt`` is the number of the attempt that just failed (1 for the first). A
    provider's ``retry_after`` is a floor: the next attempt never starts before it.
    """

    base: float = 2.0
    cap: float = 300.0
    infra_base: float = 30.0
    infra_cap: float = 900.0
    infra_attempts: int = 10

    def ceiling(self, attempt: int, category: str = PROVIDER) -> float:
        """The largest delay the jitter may pick after ``attempt`` failed."""
        base, cap = (
            (self.infra_base, self.infra_cap)
            if category == INFRASTRUCTURE
            else (self.base, self.cap)
        )
        exponent = max(attempt - 1, 0)
        # Cap the exponent first so a large attempt count cannot overflow a float.
        return float(min(cap, base * 2.0 ** min(exponent, 62)))

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        rng: random.Random | None = None,
        category: str = PROVIDER,
    ) -> float:
        """Seconds to wait before the next attempt."""
        chooser = rng or random
        ceiling = self.ceiling(attempt, category)
        floor = ceiling / 2 if category == INFRASTRUCTURE else 0.0
        jittered = float(chooser.uniform(floor, ceiling))
        if retry_after is not None and retry_after > jittered:
            return float(retry_after)
        return jittered

    def allows(self, category: str, retryable: bool, attempts: int, max_attempts: int) -> bool:
        """Whether another attempt is scheduled after attempt number ``attempts`` failed."""
        if category == INFRASTRUCTURE:
            max_attempts = max(max_attempts, self.infra_attempts)
        return should_retry(retryable, attempts, max_attempts)


def should_retry(retryable: bool, attempts: int, max_attempts: int) -> bool:
    """Whether another attempt is scheduled after a failed one."""
    return retryable and attempts < max_attempts
