"""Write transactions that queue on SQLite instead of failing.

A deferred SQLite transaction that reads first and writes later fails at once with
"database is locked" when another connection committed in between (SQLite does not
busy-wait on a lock upgrade); one started with ``BEGIN IMMEDIATE`` takes the write lock
up front and waits its turn. On PostgreSQL the option is ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker


def write_session(sessions: sessionmaker[Session]) -> Session:
    """A session from ``sessions`` whose transactions take SQLite's write lock at BEGIN."""
    bind = sessions.kw["bind"]
    return sessions(bind=bind.execution_options(sqlite_begin="IMMEDIATE"))


@contextmanager
def writing(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
    with write_session(sessions) as session, session.begin():
        yield session
