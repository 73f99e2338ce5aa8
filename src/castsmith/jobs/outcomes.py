"""How one attempt at a job ended, as the worker reports it to the queue.

Each way an attempt can end is its own type, so the code that records an end
(:mod:`castsmith.jobs.finish`) matches on the type and cannot confuse a retry with a
failure or forget a case::

    Outcome
    ├── Succeeded           the handler returned a result
    ├── WaitingForChildren  the handler spawned children and waits for them
    ├── RetryAt             a retryable error (or a timeout); try again at ``at``
    ├── Failed              a permanent error, or the last attempt's error
    ├── Cancelled           the user cancelled the job while it ran
    └── Released            the worker shut down; the job goes back unharmed

Every outcome carries the :class:`Attempt` it ends, which guards the write: a worker
that lost its lease cannot settle the attempt that replaced its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from castsmith.domain import jobs as rules


@dataclass(frozen=True)
class Attempt:
    """Which attempt ended: the job, its attempt number and the run row recording it."""

    job_id: int
    number: int
    run_id: int


@dataclass(frozen=True)
class Succeeded:
    """The handler returned ``result``."""

    attempt: Attempt
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WaitingForChildren:
    """The handler spawned children; ``finalizer`` runs the kind's hook once they end."""

    attempt: Attempt
    finalizer: bool = False


@dataclass(frozen=True)
class RetryAt:
    """The attempt failed in a way worth another try, no earlier than ``at``."""

    attempt: Attempt
    error: str
    at: datetime
    timed_out: bool = False


@dataclass(frozen=True)
class Failed:
    """The job failed for good with ``error``."""

    attempt: Attempt
    error: str
    timed_out: bool = False


@dataclass(frozen=True)
class Cancelled:
    """The handler stopped because the job was cancelled."""

    attempt: Attempt


@dataclass(frozen=True)
class Released:
    """The worker shut down before the handler ended; the attempt does not count."""

    attempt: Attempt


Outcome = Succeeded | WaitingForChildren | RetryAt | Failed | Cancelled | Released


def run_outcome(outcome: Outcome) -> str:
    """What the attempt's run row records for ``outcome``."""
    match outcome:
        case Succeeded() | WaitingForChildren():
            return rules.RUN_SUCCEEDED
        case RetryAt(timed_out=True) | Failed(timed_out=True):
            return rules.RUN_TIMED_OUT
        case RetryAt():
            return rules.RUN_RETRYING
        case Failed():
            return rules.RUN_FAILED
        case Cancelled():
            return rules.RUN_CANCELLED
        case Released():
            return rules.RUN_LOST


def error_of(outcome: Outcome) -> str | None:
    """The error an outcome carries (``None`` for successes)."""
    match outcome:
        case RetryAt(error=error) | Failed(error=error):
            return error
        case Cancelled():
            return "cancelled"
        case Released():
            return "worker shut down before the job finished; queued again"
        case _:
            return None
