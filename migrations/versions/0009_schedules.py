"""Campaign schedules: when a campaign sends (campaigns.schedule, next_fire_at), what each firing did (runs.fired_at,
runs.notes), and the once-per-person-per-occasion guard of date rules (campaign_occasions).

Revision ID: 0009
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("schedule", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("next_fire_at", core.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("fired_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("notes", sa.Text(), nullable=True))
    op.create_table(
        "campaign_occasions",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_campaign_occasions_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_campaign_occasions_contact_id_contacts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_campaign_occasions_run_id_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "contact_id", "occasion", name=op.f("pk_campaign_occasions")),
    )
    op.create_index("ix_campaign_occasions_run", "campaign_occasions", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_campaign_occasions_run", table_name="campaign_occasions")
    op.drop_table("campaign_occasions")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("notes")
        batch.drop_column("fired_at")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("next_fire_at")
        batch.drop_column("schedule")
