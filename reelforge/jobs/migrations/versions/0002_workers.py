"""the workers table: who serves what, and whether they are alive

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("slugs", sa.JSON, nullable=False),
        sa.Column("engine", sa.String(255), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("memory_bytes", sa.BigInteger),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("current_job", sa.String(36)),
        sa.Column("jobs_done", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("workers")
