"""The template gallery and test sends: the templates a company saves to its gallery (gallery_templates,
beside the ready ones shipped as data files in campaigns/content/gallery/) and the seed list a test send
also goes to (seed_addresses). Test messages themselves need no column: they belong to hidden campaigns
of kind "test" (campaigns/delivery/seed_sends.py), which every count leaves out.

Revision ID: 0031_gallery
Revises: 0028_merge_china_sms_inbox
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "0031_gallery"
down_revision = "0028_merge_china_sms_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gallery_templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False, server_default=""),
        sa.Column("html", sa.Text(), nullable=False, server_default=""),
        sa.Column("text", sa.Text(), nullable=False, server_default=""),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("template_id", sa.Integer(), sa.ForeignKey("templates.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "seed_addresses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("label", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("channel", "address", name="uq_seed_addresses_channel_address"),
    )


def downgrade() -> None:
    op.drop_table("seed_addresses")
    op.drop_table("gallery_templates")
