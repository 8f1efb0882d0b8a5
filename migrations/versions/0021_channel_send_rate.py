"""A channel's own send rate, lowered when its provider throttles and probed back up (campaigns/delivery/throttle.py):
channel_health.send_rate (messages a second; NULL = the rate configured on the channel URL), the rate the
provider last refused (throttled_rate), and when it was last lowered and last raised, so every sender process paces at the same adaptive rate.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_health") as batch:
        batch.add_column(sa.Column("send_rate", sa.Float(), nullable=True))
        batch.add_column(sa.Column("throttled_rate", sa.Float(), nullable=True))
        batch.add_column(sa.Column("rate_lowered_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rate_raised_at", core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_health") as batch:
        batch.drop_column("rate_raised_at")
        batch.drop_column("rate_lowered_at")
        batch.drop_column("throttled_rate")
        batch.drop_column("send_rate")
