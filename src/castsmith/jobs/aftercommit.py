"""Running callbacks once a caller's session has committed (and never if it rolls back).

Jobs enqueued inside someone else's unit of work must not wake a worker before their
rows are visible, and must not wake one at all when the work is rolled back. The queue
hands its wake-up here; the session's ``after_commit`` event calls it, its
``after_rollback`` event drops it. Several enqueues in one transaction wake once.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "castsmith.jobs.after_commit"


def _pending(session: Session) -> dict[int, Callable[[], None]]:
    pending: dict[int, Callable[[], None]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = {}
        session.info[_PENDING] = pending
        event.listen(session, "after_commit", _run)
        event.listen(session, "after_rollback", _drop)
    return pending


def after_commit(session: Session, key: int, callback: Callable[[], None]) -> None:
    """Call ``callback`` after ``session``'s current transaction commits.

    ``key`` identifies the callback's owner (say, one queue): a second registration
    under the same key before the commit replaces the first, so it runs once.
    """
    _pending(session)[key] = callback


def _run(session: Session) -> None:
    pending: dict[int, Callable[[], None]] = session.info.get(_PENDING, {})
    callbacks = list(pending.values())
    pending.clear()
    for callback in callbacks:
        callback()


def _drop(session: Session) -> None:
    session.info.get(_PENDING, {}).clear()
