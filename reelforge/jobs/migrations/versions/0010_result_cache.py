"""result cache: a submit's fingerprint, and the request a cached result came from

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("fingerprint", sa.String(64)))
    op.add_column("jobs", sa.Column("cached_from", sa.String(36)))
    # a cacheable submit looks its twin up; an expiry looks up who still shares a file
    op.create_index("ix_jobs_fingerprint", "jobs", ["fingerprint"])
    op.create_index("ix_jobs_output_key", "jobs", ["output_key"])


def downgrade() -> None:
    op.drop_index("ix_jobs_output_key", "jobs")
    op.drop_index("ix_jobs_fingerprint", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cached_from")
        batch.drop_column("fingerprint")
