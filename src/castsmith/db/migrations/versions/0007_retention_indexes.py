"""jobs by status in id order, and indexed links to jobs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose job_id is cleared when a job is deleted: without an index every
# deleted job would scan them.
LINKED = ("poster_frame_versions", "training_data_items", "persona_tasks", "persona_results")


def upgrade() -> None:
    op.create_index("ix_jobs_status_id", "jobs", ["status", "id"], unique=False)
    for table in LINKED:
        op.create_index(op.f(f"ix_{table}_job_id"), table, ["job_id"], unique=False)


def downgrade() -> None:
    for table in LINKED:
        op.drop_index(op.f(f"ix_{table}_job_id"), table_name=table)
    op.drop_index("ix_jobs_status_id", table_name="jobs")
