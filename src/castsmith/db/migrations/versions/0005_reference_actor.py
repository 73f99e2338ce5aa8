"""character references: the actor they were made for

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("character_references", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index(
            batch_op.f("ix_character_references_actor_id"), ["actor_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_character_references_actor_id_actors"),
            "actors",
            ["actor_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("character_references", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_character_references_actor_id_actors"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_character_references_actor_id"))
        batch_op.drop_column("actor_id")
