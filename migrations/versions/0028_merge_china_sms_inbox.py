"""Merge two parallel branches into one head: 0024_china_sms (templates bound to a provider's registered
template) and 0026_inbox (conversations, inbox answers, canned replies, messages.body).

They touch different tables and columns (templates; conversations, inbox_answers, canned_replies, replies,
messages.body), so either order gives the same schema.

Revision ID: 0028_merge_china_sms_inbox
Revises: 0024_china_sms, 0026_inbox
"""

revision = "0028_merge_china_sms_inbox"
down_revision = ("0024_china_sms", "0026_inbox")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
