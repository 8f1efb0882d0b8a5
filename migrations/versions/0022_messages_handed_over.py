"""messages.handed_over: whether a claimed message may already be with the provider, so a sender that
dies mid-batch leaves the rest of its batch pending rather than `unknown` (campaigns/delivery/answer_groups.py);
and ix_messages_unknown, a partial index of the unknown rows the reconciler sweeps (campaigns/delivery/reconcile.py).

Revision ID: 0022
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # True for every existing row: a row claimed by a sender of the previous version may have been sent.
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("handed_over", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_index("ix_messages_unknown", "messages", ["id"], postgresql_where=sa.text("status = 'unknown'"),
                    sqlite_where=sa.text("status = 'unknown'"))


def downgrade() -> None:
    op.drop_index("ix_messages_unknown", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("handed_over")
