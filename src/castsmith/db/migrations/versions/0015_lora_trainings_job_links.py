"""lora_trainings: indexed links to jobs, so deleting a job does not scan the table

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each is cleared when its job is deleted (retention): without an index, every deleted
# job would scan lora_trainings three times.
COLUMNS = ("job_id", "grid_job_id", "poster_job_id")


def upgrade() -> None:
    for column in COLUMNS:
        op.create_index(op.f(f"ix_lora_trainings_{column}"), "lora_trainings", [column])


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(op.f(f"ix_lora_trainings_{column}"), table_name="lora_trainings")
