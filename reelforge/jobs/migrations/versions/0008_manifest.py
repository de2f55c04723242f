"""manifest: what made each COMPLETED result, and what each worker runs

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("manifest", sa.JSON))
    op.add_column("jobs", sa.Column("checkpoint", sa.String(80)))
    op.add_column("jobs", sa.Column("output_sha256", sa.String(64)))
    op.add_column("workers", sa.Column("runtime", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("runtime")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("output_sha256")
        batch.drop_column("checkpoint")
        batch.drop_column("manifest")
