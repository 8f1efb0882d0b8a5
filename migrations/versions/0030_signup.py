"""Sign-up forms with double opt-in: the forms built in the UI (signup_forms), each submission with its
evidence and confirmation state (signup_submissions), and the evidence a consent change keeps
(consent_changes.evidence: form, consent text shown, time, IP, confirmation).

Revision ID: 0030_signup
Revises: 0028_merge_china_sms_inbox
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "0030_signup"
down_revision = "0028_merge_china_sms_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_changes") as batch:
        batch.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
    op.create_table(
        "signup_forms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(10), nullable=False, server_default="en"),
        sa.Column("title", sa.String(200), nullable=False, server_default=""),
        sa.Column("intro", sa.Text(), nullable=False, server_default=""),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("list_ids", sa.JSON(), nullable=False),
        sa.Column("email_consent", sa.Text(), nullable=False, server_default=""),
        sa.Column("sms_consent", sa.Text(), nullable=False, server_default=""),
        sa.Column("thanks", sa.Text(), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "signup_submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("form_id", sa.Integer(), sa.ForeignKey("signup_forms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("new_contact", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("ip", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(300), nullable=False, server_default=""),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("messages.id", ondelete="SET NULL"), nullable=True),
        sa.Column("code_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_by", sa.String(20), nullable=True),
        sa.Column("confirmed_ip", sa.String(64), nullable=True),
    )
    op.create_index("ix_signup_submissions_form", "signup_submissions", ["form_id", "submitted_at"])
    op.create_index("ix_signup_submissions_contact", "signup_submissions", ["contact_id"])
    op.create_index("ix_signup_submissions_message", "signup_submissions", ["message_id"])


def downgrade() -> None:
    op.drop_table("signup_submissions")
    op.drop_table("signup_forms")
    with op.batch_alter_table("consent_changes") as batch:
        batch.drop_column("evidence")
