"""fault retries: a job put back after a disk or database fault waits until not_before

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("not_before", sa.Float))
    op.add_column(
        "jobs", sa.Column("fault_retries", sa.Integer, nullable=False, server_default="0")
    )
    # "is a live worker serving this slug?" on every status poll of a QUEUED job
    op.create_index("ix_workers_heartbeat", "workers", ["heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_workers_heartbeat", "workers")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("fault_retries")
        batch.drop_column("not_before")
