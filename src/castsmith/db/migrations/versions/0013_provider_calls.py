"""provider calls: the cost ledger, one row per provider call with its usage and cost

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_calls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("persona_task_id", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remote_id", sa.String(length=512), nullable=True),
        sa.Column(
            "usage",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_calls")),
    )
    with op.batch_alter_table("provider_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_calls_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_provider_calls_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_calls_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_provider_calls_persona_task_id"), ["persona_task_id"], unique=False
        )
        batch_op.create_index(
            "ix_provider_calls_owner_created", ["owner_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("provider_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_calls_owner_created")
        batch_op.drop_index(batch_op.f("ix_provider_calls_persona_task_id"))
        batch_op.drop_index(batch_op.f("ix_provider_calls_actor_id"))
        batch_op.drop_index(batch_op.f("ix_provider_calls_job_id"))
        batch_op.drop_index(batch_op.f("ix_provider_calls_created_at"))
    op.drop_table("provider_calls")
