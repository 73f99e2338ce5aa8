"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 03:43:40.275953

The tables are created by the functions in ``initial_core``, ``initial_cast`` and
``initial_personas`` beside ``env.py`` (files in ``versions/`` are revisions only), in
the order Alembic generated them: each table after the tables its foreign keys name.
"""

from collections.abc import Sequence

from castsmith.db.migrations import initial_cast as cast
from castsmith.db.migrations import initial_core as core
from castsmith.db.migrations import initial_personas as personas

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    core.create_users()
    core.create_assets()
    core.create_jobs()
    cast.create_actors()
    core.create_asset_renditions()
    cast.create_character_references()
    core.create_job_runs()
    personas.create_persona_tasks()
    personas.create_persona_results()
    cast.create_poster_frame_versions()
    cast.create_training_data_items()


def downgrade() -> None:
    cast.drop_training_data_items()
    cast.drop_poster_frame_versions()
    personas.drop_persona_results()
    personas.drop_persona_tasks()
    core.drop_job_runs()
    cast.drop_character_references()
    core.drop_asset_renditions()
    cast.drop_actors()
    core.drop_jobs()
    core.drop_assets()
    core.drop_users()
