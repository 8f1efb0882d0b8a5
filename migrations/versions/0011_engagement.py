"""Engagement and attribution: tracked links, campaign codes and windows, UTM, topic lists.

Revision ID: 0011
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0011"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("code", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("attribution_window_days", sa.Integer(), server_default="7", nullable=False))
        batch.add_column(sa.Column("track_clicks", sa.Boolean(), server_default=sa.text("true"), nullable=False))
        batch.add_column(sa.Column("track_opens", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch.add_column(sa.Column("utm_source", sa.String(length=100), server_default="", nullable=False))
        batch.add_column(sa.Column("utm_medium", sa.String(length=100), server_default="", nullable=False))
        batch.add_column(sa.Column("utm_campaign", sa.String(length=100), server_default="", nullable=False))
        batch.create_unique_constraint(op.f("uq_campaigns_code"), ["code"])
    with op.batch_alter_table("lists") as batch:
        batch.add_column(sa.Column("is_topic", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_links_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint("campaign_id", "url_hash", name=op.f("uq_links_campaign_id_url_hash")),
    )


def downgrade() -> None:
    op.drop_table("links")
    with op.batch_alter_table("lists") as batch:
        batch.drop_column("is_topic")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint(op.f("uq_campaigns_code"), type_="unique")
        for column in ("utm_campaign", "utm_medium", "utm_source", "track_opens", "track_clicks",
                       "attribution_window_days", "code"):
            batch.drop_column(column)
