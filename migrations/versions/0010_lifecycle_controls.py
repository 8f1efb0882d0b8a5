"""Campaign lifecycle and controls: transitions with who and when, approval, segment audiences, operational
notices, frequency-cap overrides, fallback re-sends.

Revision ID: 0010
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_campaign_transitions_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_campaign_transitions_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_transitions")),
    )
    op.create_index("ix_campaign_transitions_campaign", "campaign_transitions", ["campaign_id", "at"])
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("segment_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("operational", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch.add_column(sa.Column("ignore_caps", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch.add_column(sa.Column("cap_messages", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cap_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("fallback_of_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approved_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f("fk_campaigns_segment_id_segments"), "segments", ["segment_id"], ["id"])
        batch.create_foreign_key(op.f("fk_campaigns_fallback_of_id_campaigns"), "campaigns", ["fallback_of_id"],
                                 ["id"], ondelete="SET NULL")
        batch.create_foreign_key(op.f("fk_campaigns_approved_by_users"), "users", ["approved_by"], ["id"],
                                 ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint(op.f("fk_campaigns_approved_by_users"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_campaigns_fallback_of_id_campaigns"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_campaigns_segment_id_segments"), type_="foreignkey")
        for column in ("approved_at", "approved_by", "fallback_of_id", "cap_days", "cap_messages", "ignore_caps",
                       "operational", "segment_id"):
            batch.drop_column(column)
    op.drop_index("ix_campaign_transitions_campaign", table_name="campaign_transitions")
    op.drop_table("campaign_transitions")
