"""The migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from castsmith.db.engine import make_engine
from castsmith.db.migrate import current_revision, head_revision, upgrade
from castsmith.db.models import Base


def test_migrated_schema_equals_models(database_url: str) -> None:
    engine = make_engine(database_url)
    dialect = engine.dialect.name

    def for_this_dialect(item: Any, _name: Any, kind: str, _reflected: bool, _other: Any) -> bool:
        # Indexes of one dialect only (PostgreSQL trigram indexes) are not expected elsewhere.
        wanted = getattr(item, "info", {}).get("dialect") if kind == "index" else None
        return wanted in (None, dialect)

    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": for_this_dialect}
        context = MigrationContext.configure(conn, opts=opts)
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_is_idempotent_and_reaches_head(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_database_url: str) -> None:
    engine = make_engine(sqlite_database_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
