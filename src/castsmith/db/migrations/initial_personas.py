"""Revision 0001, the initial schema: persona tasks and their results.

Migrations are history: these tables are created exactly as revision 0001 created them
(the text Alembic generated then), and never change. A later change to these tables is
a new revision. The revision file calls these functions in its original order.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def create_persona_tasks() -> None:
    """Create ``persona_tasks`` as revision 0001 did."""
    op.create_table(
        "persona_tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=20), nullable=False),
        sa.Column(
            "constraints",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column(
            "error_log",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_persona_tasks_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_persona_tasks_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persona_tasks")),
        sa.UniqueConstraint("task_id", name=op.f("uq_persona_tasks_task_id")),
    )
    with op.batch_alter_table("persona_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persona_tasks_status"), ["status"], unique=False)


def drop_persona_tasks() -> None:
    """Drop ``persona_tasks`` (and its indexes) as revision 0001 did."""
    with op.batch_alter_table("persona_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persona_tasks_status"))

    op.drop_table("persona_tasks")


def create_persona_results() -> None:
    """Create ``persona_results`` as revision 0001 did."""
    op.create_table(
        "persona_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("firstname", sa.String(length=120), nullable=False),
        sa.Column("lastname", sa.String(length=120), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("gender", sa.String(length=30), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("occupation", sa.String(length=200), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("image_prompt", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "base_image_asset_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "image_0_asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "image_1_asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "image_2_asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "image_3_asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_image_asset_id"],
            ["assets.id"],
            name=op.f("fk_persona_results_base_image_asset_id_assets"),
        ),
        sa.ForeignKeyConstraint(
            ["image_0_asset_id"],
            ["assets.id"],
            name=op.f("fk_persona_results_image_0_asset_id_assets"),
        ),
        sa.ForeignKeyConstraint(
            ["image_1_asset_id"],
            ["assets.id"],
            name=op.f("fk_persona_results_image_1_asset_id_assets"),
        ),
        sa.ForeignKeyConstraint(
            ["image_2_asset_id"],
            ["assets.id"],
            name=op.f("fk_persona_results_image_2_asset_id_assets"),
        ),
        sa.ForeignKeyConstraint(
            ["image_3_asset_id"],
            ["assets.id"],
            name=op.f("fk_persona_results_image_3_asset_id_assets"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_persona_results_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["persona_tasks.id"],
            name=op.f("fk_persona_results_task_id_persona_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persona_results")),
    )
    with op.batch_alter_table("persona_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persona_results_task_id"), ["task_id"], unique=False)


def drop_persona_results() -> None:
    """Drop ``persona_results`` (and its indexes) as revision 0001 did."""
    with op.batch_alter_table("persona_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persona_results_task_id"))

    op.drop_table("persona_results")
