"""watching a job: structured progress, event versions, webhooks, measured timings

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("version", sa.Integer, nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("step", sa.Integer))
    op.add_column("jobs", sa.Column("steps", sa.Integer))
    op.add_column("jobs", sa.Column("step_seconds", sa.Float))
    op.add_column("jobs", sa.Column("timings", sa.JSON))
    op.add_column("jobs", sa.Column("base_url", sa.String(512)))
    op.add_column("jobs", sa.Column("webhook", sa.Text))
    op.add_column("jobs", sa.Column("webhook_events", sa.JSON))
    op.add_column("accounts", sa.Column("webhook_secret", sa.String(128)))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("snapshot", sa.JSON, nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("lease_until", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index("ix_webhook_deliveries_job", "webhook_deliveries", ["job_id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id"])
    op.create_table(
        "timing_stats",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column("size", sa.String(64), primary_key=True),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("job_seconds", sa.Float, nullable=False),
        sa.Column("step_seconds", sa.Float),
        sa.Column("steps", sa.Integer),
        sa.Column("after_seconds", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("timing_stats")
    op.drop_index("ix_webhook_attempts_delivery", "webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_job", "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("webhook_secret")
    with op.batch_alter_table("jobs") as batch:
        for column in ("webhook_events", "webhook", "base_url", "timings", "step_seconds",
                       "steps", "step", "version"):  # fmt: skip
            batch.drop_column(column)
