"""Job firings: one row per firing of a scheduled job without a unique key of its own (weekly report, RFM
scoring, mailbox polling), so two schedulers — or one that lost its lock — run a firing once
(scheduler/fence.py).

Revision ID: 0020
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0020"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_firings",
        sa.Column("job_id", sa.String(length=200), nullable=False),
        sa.Column("fire_time", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ran_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "fire_time", name=op.f("pk_job_firings")),
    )


def downgrade() -> None:
    op.drop_table("job_firings")
