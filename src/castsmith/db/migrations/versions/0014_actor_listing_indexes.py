"""actors: partial indexes of live actors for the listing's filters and counts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same predicates as the models' (castsmith.db.models.Actor): a listing's WHERE
# clause implies them, so PostgreSQL counts a filtered listing from the index alone.
LIVE = "deleted_at IS NULL"
LIVE_WITH_LORA = "deleted_at IS NULL AND (lora_model_url IS NOT NULL OR lora_name IS NOT NULL)"


def upgrade() -> None:
    op.create_index(
        "ix_actors_live_lora",
        "actors",
        ["id"],
        sqlite_where=sa.text(LIVE_WITH_LORA),
        postgresql_where=sa.text(LIVE_WITH_LORA),
    )
    op.create_index(
        "ix_actors_live_sex_type",
        "actors",
        ["sex", "actor_type", "id"],
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("ix_actors_live_sex_type", table_name="actors")
    op.drop_index("ix_actors_live_lora", table_name="actors")
