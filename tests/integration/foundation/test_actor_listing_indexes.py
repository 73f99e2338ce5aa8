"""Listing actors: filtered totals are right, and PostgreSQL can count them from the
live-actor partial indexes (the filters must keep spelling the indexes' predicates)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from castsmith.db.engine import make_engine
from castsmith.db.models import Actor
from castsmith.db.repositories.actors import ActorFilters, ActorRepository, _conditions
from castsmith.domain.access import OPERATOR

# (name, sex, type, lora_name, lora_model_url, deleted)
ACTORS = [
    ("a1", "female", "robot", "lora-a1", None, False),
    ("a2", "female", "robot", None, "https://x/a2.safetensors", False),
    ("a3", "female", "person", None, None, False),
    ("a4", "male", "robot", "lora-a4", None, True),
    ("a5", "male", "robot", None, None, False),
]


def fill(url: str) -> Session:
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Actor),
            [
                {"name": name, "sex": sex, "actor_type": kind, "lora_name": lora}
                | {"lora_model_url": model, "deleted_at": now if deleted else None}
                | {"description": "", "extra": {}, "created_at": now, "updated_at": now}
                for name, sex, kind, lora, model, deleted in ACTORS
            ],
        )
    if engine.dialect.name == "postgresql":
        # Statistics and the visibility map, as autovacuum keeps them on a real library.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE actors"))
    return Session(engine)


@pytest.mark.parametrize(
    ("filters", "names"),
    [
        (ActorFilters(has_lora=True), ["a1", "a2"]),
        (ActorFilters(has_lora=False), ["a3", "a5"]),
        (ActorFilters(sex="female", actor_type="robot"), ["a1", "a2"]),
        (ActorFilters(sex="male", actor_type="robot", deleted=True), ["a4"]),
        (ActorFilters(), ["a1", "a2", "a3", "a5"]),
    ],
)
def test_filtered_pages_and_totals(
    database_url: str, filters: ActorFilters, names: list[str]
) -> None:
    with fill(database_url) as session:
        repo = ActorRepository(session, OPERATOR)
        whole = repo.search(filters, after_id=None, limit=50)
        first = repo.search(filters, after_id=None, limit=1)
        second = repo.search(filters, after_id=first.items[0].id, limit=1)
    assert [actor.name for actor in whole.items] == names
    assert whole.total == first.total == second.total == len(names)
    assert second.items[0].name == names[1] if len(names) > 1 else not second.items


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (ActorFilters(has_lora=True), "ix_actors_live_lora"),
        (ActorFilters(sex="female", actor_type="robot"), "ix_actors_live_sex_type"),
    ],
)
def test_postgres_counts_a_filtered_listing_from_its_index(
    pg_database_url: str, filters: ActorFilters, index: str
) -> None:
    with fill(pg_database_url) as session:
        count = select(func.count()).select_from(Actor).where(*_conditions(filters, OPERATOR))
        compiled = count.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        # On five rows a table scan is cheaper; forbid it to see whether the index applies.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
    assert f"Index Only Scan using {index}" in plan, plan
