"""Revision 0001, the initial schema: actors, character references, poster frames, training images.

Migrations are history: these tables are created exactly as revision 0001 created them
(the text Alembic generated then), and never change. A later change to these tables is
a new revision. The revision file calls these functions in its original order.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def create_actors() -> None:
    """Create ``actors`` as revision 0001 did."""
    op.create_table(
        "actors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("actor_type", sa.String(length=40), nullable=False),
        sa.Column("sex", sa.String(length=20), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("ethnicity", sa.String(length=80), nullable=True),
        sa.Column("style", sa.String(length=80), nullable=True),
        sa.Column("lora_model_url", sa.String(length=2048), nullable=True),
        sa.Column("lora_name", sa.String(length=300), nullable=True),
        sa.Column("lora_trigger_word", sa.String(length=200), nullable=True),
        sa.Column("lora_strength_model", sa.Float(), nullable=False),
        sa.Column("lora_strength_clip", sa.Float(), nullable=False),
        sa.Column(
            "base_image_asset_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("legacy_id", sa.String(length=100), nullable=True),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_image_asset_id"],
            ["assets.id"],
            name=op.f("fk_actors_base_image_asset_id_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_actors_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actors")),
        sa.UniqueConstraint("name", name=op.f("uq_actors_name")),
    )
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_actors_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_actors_owner_id"), ["owner_id"], unique=False)


def drop_actors() -> None:
    """Drop ``actors`` (and its indexes) as revision 0001 did."""
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actors_owner_id"))
        batch_op.drop_index(batch_op.f("ix_actors_deleted_at"))

    op.drop_table("actors")


def create_character_references() -> None:
    """Create ``character_references`` as revision 0001 did."""
    op.create_table(
        "character_references",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("aspect_ratio", sa.String(length=10), nullable=False),
        sa.Column("asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("video_job_id", sa.String(length=100), nullable=True),
        sa.Column("source_reference_id", sa.String(length=64), nullable=True),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_character_references_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_character_references_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_reference_id"],
            ["character_references.id"],
            name=op.f("fk_character_references_source_reference_id_character_references"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_character_references")),
    )
    with op.batch_alter_table("character_references", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_character_references_video_job_id"), ["video_job_id"], unique=False
        )


def drop_character_references() -> None:
    """Drop ``character_references`` (and its indexes) as revision 0001 did."""
    with op.batch_alter_table("character_references", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_character_references_video_job_id"))

    op.drop_table("character_references")


def create_poster_frame_versions() -> None:
    """Create ``poster_frame_versions`` as revision 0001 did."""
    op.create_table(
        "poster_frame_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["actors.id"],
            name=op.f("fk_poster_frame_versions_actor_id_actors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_poster_frame_versions_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_poster_frame_versions_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poster_frame_versions")),
        sa.UniqueConstraint("actor_id", "version", name=op.f("uq_poster_frame_versions_actor_id")),
    )
    with op.batch_alter_table("poster_frame_versions", schema=None) as batch_op:
        batch_op.create_index(
            "uq_poster_frame_versions_current",
            ["actor_id"],
            unique=True,
            sqlite_where=sa.text("is_current"),
            postgresql_where=sa.text("is_current"),
        )


def drop_poster_frame_versions() -> None:
    """Drop ``poster_frame_versions`` (and its indexes) as revision 0001 did."""
    with op.batch_alter_table("poster_frame_versions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_poster_frame_versions_current",
            sqlite_where=sa.text("is_current"),
            postgresql_where=sa.text("is_current"),
        )

    op.drop_table("poster_frame_versions")


def create_training_data_items() -> None:
    """Create ``training_data_items`` as revision 0001 did."""
    op.create_table(
        "training_data_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("prompt_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["actors.id"],
            name=op.f("fk_training_data_items_actor_id_actors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_training_data_items_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_training_data_items_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_data_items")),
        sa.UniqueConstraint("actor_id", "n", name=op.f("uq_training_data_items_actor_id")),
    )


def drop_training_data_items() -> None:
    """Drop ``training_data_items`` (and its indexes) as revision 0001 did."""
    op.drop_table("training_data_items")
