"""Database engines and sessions for SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while a writer commits; the busy timeout makes concurrent
    # writers wait instead of failing; SQLite leaves foreign keys off unless asked.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's own transaction handling is disabled (isolation_level=None) so that
    # SQLAlchemy's BEGIN is the one that runs; IMMEDIATE takes the write lock up front
    # when requested, which the job queue's claim relies on.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas and pool settings each backend needs."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None, "timeout": 30},
            **kwargs,
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class SqliteSessions(sessionmaker[Session]):
    """Sessions on SQLite: ``sessions()`` reads, ``sessions.begin()`` writes.

    A write session begins ``BEGIN IMMEDIATE``: a deferred transaction that reads and
    then writes fails at once with "database is locked" when another connection
    committed in between, while an immediate one waits its turn (up to the busy
    timeout). A read session begins deferred and takes no lock at all (WAL): readers
    never queue behind each other, in one process or across several serving one file.
    Every write in castsmith goes through ``begin()``; a plain session is never
    committed.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, expire_on_commit=False)
        self.writes = sessionmaker(
            engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )

    def begin(self) -> AbstractContextManager[Session]:
        """A write session in an immediate transaction, committed when the block ends."""
        return self.writes.begin()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit (see
    :class:`SqliteSessions` for how SQLite sessions begin)."""
    if engine.dialect.name == "sqlite":
        return SqliteSessions(engine)
    return sessionmaker(engine, expire_on_commit=False)
