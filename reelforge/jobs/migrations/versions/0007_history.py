"""history: an account's requests newest first (GET /v1/requests) from one index

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (owner, created_at) serves the listing's keyset pages and every look-up by owner
    # alone, so it replaces ix_jobs_owner (one index fewer to write on every submit)
    op.create_index("ix_jobs_owner_created", "jobs", ["owner", "created_at"])
    op.drop_index("ix_jobs_owner", "jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_owner", "jobs", ["owner"])
    op.drop_index("ix_jobs_owner_created", "jobs")
