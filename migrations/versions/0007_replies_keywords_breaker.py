"""Inbound SMS replies, keyword rules, and the per-channel circuit breaker.

Revision ID: 0007
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("from_number", sa.String(length=32), nullable=False),
        sa.Column("to_number", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keyword", sa.String(length=50), nullable=True),
        sa.Column("classification", sa.String(length=20), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_replies_contact_id_contacts"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_replies_message_id_messages"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
        sa.UniqueConstraint("provider", "provider_id", name=op.f("uq_replies_provider_provider_id")),
    )
    op.create_index("ix_replies_received", "replies", ["received_at"])
    op.create_index("ix_replies_contact_received", "replies", ["contact_id", "received_at"])
    op.create_index("ix_replies_class_received", "replies", ["classification", "received_at"])

    op.create_table(
        "keyword_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=50), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("tag", sa.String(length=50), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], name=op.f("fk_keyword_rules_list_id_lists"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_rules")),
        sa.UniqueConstraint("keyword", name=op.f("uq_keyword_rules_keyword")),
    )

    op.create_table(
        "channel_health",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("opened_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_try_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_health")),
    )


def downgrade() -> None:
    op.drop_table("channel_health")
    op.drop_table("keyword_rules")
    op.drop_index("ix_replies_class_received", table_name="replies")
    op.drop_index("ix_replies_contact_received", table_name="replies")
    op.drop_index("ix_replies_received", table_name="replies")
    op.drop_table("replies")
