"""On SQLite, reading sessions never wait for a writer; writing sessions take turns."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from castsmith.db.engine import make_engine, make_session_factory
from castsmith.db.models import Actor


def test_a_reader_does_not_wait_while_a_writer_holds_the_lock(sqlite_database_url: str) -> None:
    engine = make_engine(sqlite_database_url)
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as writing:
            writing.add(Actor(name="Ada", extra={}))
            writing.flush()  # the write lock is now held until this block commits
            counted: list[int] = []
            began = time.monotonic()

            def read() -> None:
                with sessions() as session:
                    counted.append(session.scalar(select(func.count()).select_from(Actor)) or 0)

            reader = threading.Thread(target=read)
            reader.start()
            reader.join(10)
            waited = time.monotonic() - began
        # The reader saw the last committed state at once, not after the writer.
        assert counted == [0] and waited < 5
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Actor)) == 1
    finally:
        engine.dispose()


def test_two_writers_take_turns_instead_of_failing(sqlite_database_url: str) -> None:
    engine = make_engine(sqlite_database_url)
    sessions = make_session_factory(engine)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            with sessions.begin() as session:
                # Read, pause, write: a deferred transaction would fail here with
                # "database is locked" when the other writer committed in between.
                session.scalar(select(func.count()).select_from(Actor))
                time.sleep(0.2)
                session.add(Actor(name=name, extra={}))
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=write, args=(f"Writer_{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Actor)) == 2
    finally:
        engine.dispose()
