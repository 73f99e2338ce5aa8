"""curation: the measurements of each checked image

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "image_checks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("asset_id", _ID, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("face_count", sa.Integer(), nullable=False),
        sa.Column("faces", _JSON, nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sharpness", sa.Float(), nullable=False),
        sa.Column("exposure_mean", sa.Float(), nullable=False),
        sa.Column("exposure_clipped", sa.Float(), nullable=False),
        sa.Column("phash", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_image_checks_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_checks")),
        sa.UniqueConstraint("asset_id", name=op.f("uq_image_checks_asset_id")),
    )


def downgrade() -> None:
    op.drop_table("image_checks")
