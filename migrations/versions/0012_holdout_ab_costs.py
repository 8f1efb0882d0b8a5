"""Holdout, A/B variants, rate plans and fixed costs: what a campaign caused and what it cost.

Revision ID: 0012
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0012"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=50), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("winner", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_campaign_variants_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["template_id"], ["templates.id"],
                                name=op.f("fk_campaign_variants_template_id_templates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_variants")),
        sa.UniqueConstraint("campaign_id", "label", name=op.f("uq_campaign_variants_campaign_id_label")),
    )
    op.create_table(
        "rate_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("country_prefix", sa.String(length=8), nullable=False),
        sa.Column("unit_price", sa.Numeric(14, 6), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("monthly_free_quota", sa.Integer(), nullable=False),
        sa.Column("effective_from", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("effective_to", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_plans")),
    )
    op.create_table(
        "rate_plan_usage",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["rate_plans.id"], name=op.f("fk_rate_plan_usage_plan_id_rate_plans"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "month", name=op.f("pk_rate_plan_usage")),
    )
    op.create_table(
        "campaign_costs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_campaign_costs_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_costs")),
    )
    op.create_index("ix_campaign_costs_campaign", "campaign_costs", ["campaign_id"])
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("holdout_percent", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("ab_test_percent", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("ab_metric", sa.String(length=30), server_default="click_rate", nullable=False))
        batch.add_column(sa.Column("ab_wait_hours", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ab_decided_at", core.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("variant_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_messages_variant_id_campaign_variants"), "campaign_variants",
                                 ["variant_id"], ["id"], ondelete="SET NULL")
    op.create_index("ix_messages_campaign_id", "messages", ["campaign_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_campaign_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(op.f("fk_messages_variant_id_campaign_variants"), type_="foreignkey")
        batch.drop_column("variant_id")
    with op.batch_alter_table("campaigns") as batch:
        for column in ("ab_decided_at", "ab_wait_hours", "ab_metric", "ab_test_percent", "holdout_percent"):
            batch.drop_column(column)
    op.drop_index("ix_campaign_costs_campaign", table_name="campaign_costs")
    op.drop_table("campaign_costs")
    op.drop_table("rate_plan_usage")
    op.drop_table("rate_plans")
    op.drop_table("campaign_variants")
