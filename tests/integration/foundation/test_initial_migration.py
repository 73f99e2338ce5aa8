"""Revision 0001 builds the first schema and takes it down again, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect

from castsmith.db.engine import make_engine
from castsmith.db.migrate import alembic_config, current_revision, upgrade
from tests.services import create_pg_database, drop_pg_database, pg_reachable, pg_url_for

FIRST_TABLES = {
    "users",
    "assets",
    "asset_renditions",
    "jobs",
    "job_runs",
    "actors",
    "character_references",
    "poster_frame_versions",
    "training_data_items",
    "persona_tasks",
    "persona_results",
}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database nothing was ever migrated into."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    if not pg_reachable():
        from tests.services import service_missing

        service_missing("PostgreSQL on 127.0.0.1:5432", "start the PostgreSQL service")
    name = create_pg_database()
    engine = make_engine(pg_url_for(name))
    yield engine
    engine.dispose()
    drop_pg_database(name)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_revision_0001_creates_the_first_tables_and_takes_them_down(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0001")
    assert current_revision(empty_engine) == "0001"
    assert tables(empty_engine) == FIRST_TABLES
    schema = inspect(empty_engine)
    job_indexes = {index["name"]: index for index in schema.get_indexes("jobs")}
    assert job_indexes["uq_jobs_active_idempotency_key"]["unique"]
    assert {"ix_jobs_claim", "ix_jobs_kind", "ix_jobs_parent_id"} <= set(job_indexes)
    result_keys = {fk["name"] for fk in schema.get_foreign_keys("persona_results")}
    assert "fk_persona_results_task_id_persona_tasks" in result_keys
    assert len(result_keys) == 7

    downgrade(empty_engine, "base")
    assert current_revision(empty_engine) is None
    assert tables(empty_engine) == set()

    # Down and up again: nothing is left behind that would stop a second upgrade.
    upgrade(empty_engine, "0001")
    assert tables(empty_engine) == FIRST_TABLES
