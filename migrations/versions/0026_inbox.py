"""The two-way inbox: replies wait for a person until handled (replies.handled_at, handled_by); a conversation
per contact assigned to a user (conversations); the SMS care staff write (inbox_answers, each carried by an
outbox row whose text is messages.body); the canned replies admins keep (canned_replies).

Revision ID: 0026_inbox
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "0026_inbox"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("handled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("handled_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_replies_handled_by_users", "users", ["handled_by"], ["id"], ondelete="SET NULL")
    # Replies stored before the inbox had a state were read on the old page: they count as handled, at arrival,
    # so the menu does not open on every reply ever received.
    op.execute("UPDATE replies SET handled_at = received_at")
    op.create_index("ix_replies_waiting", "replies", ["contact_id"], postgresql_where=sa.text("handled_at IS NULL"),
                    sqlite_where=sa.text("handled_at IS NULL"))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
    op.create_table(
        "conversations",
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("assigned_at", UTCDateTime(), nullable=True),
        sa.Column("assigned_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("last_reply_at", UTCDateTime(), nullable=False),
        sa.Column("last_answer_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_conversations_assignee_id", "conversations", ["assignee_id"])
    # Every contact who replied before gets their conversation, assigned to their owner as a new one would be.
    op.execute("INSERT INTO conversations (contact_id, assignee_id, last_reply_at, created_at) "
               "SELECT r.contact_id, c.owner_id, MAX(r.received_at), MIN(r.received_at) FROM replies AS r "
               "JOIN contacts AS c ON c.id = r.contact_id GROUP BY r.contact_id, c.owner_id")
    op.create_table(
        "inbox_answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reply_id", sa.Integer(), sa.ForeignKey("replies.id", ondelete="SET NULL"), nullable=True),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_inbox_answers_contact", "inbox_answers", ["contact_id", "created_at"])
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(100), nullable=False, unique=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("canned_replies")
    op.drop_index("ix_inbox_answers_contact", table_name="inbox_answers")
    op.drop_table("inbox_answers")
    op.drop_index("ix_conversations_assignee_id", table_name="conversations")
    op.drop_table("conversations")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("body")
    op.drop_index("ix_replies_waiting", table_name="replies")
    with op.batch_alter_table("replies") as batch:
        batch.drop_constraint("fk_replies_handled_by_users", type_="foreignkey")
        batch.drop_column("handled_by")
        batch.drop_column("handled_at")
