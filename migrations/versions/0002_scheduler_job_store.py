"""Scheduler job store: the table APScheduler's SQLAlchemyJobStore keeps its jobs in.

APScheduler would create it on start; creating it here keeps every table under Alembic, with the
same columns APScheduler 3.11 declares (apscheduler/jobstores/sqlalchemy.py).

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
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), index=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("apscheduler_jobs")
