"""An event notice chooses its fallback before it is sent (campaigns/notices.py): campaigns.fallback_template_id
(the other channel's template; NULL = no fallback planned) and campaigns.fallback_after_minutes (how long after
the notice starts sending the scheduler re-sends it to everyone not delivered). A unique index on
campaigns.fallback_of_id makes a notice's re-send exist at most once, whoever makes it: two schedulers, or the
scheduler and a click on the campaign page, cannot both insert one.

Revision ID: 0027_calendar
Revises: 0024_china_sms
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0027_calendar"
down_revision = "0024_china_sms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("fallback_template_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("fallback_after_minutes", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_campaigns_fallback_template_id_templates"), "templates",
                                 ["fallback_template_id"], ["id"], ondelete="SET NULL")
    op.create_index("uq_campaigns_fallback_of_id", "campaigns", ["fallback_of_id"], unique=True)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("dry_run_ok_at", core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("dry_run_ok_at")
    op.drop_index("uq_campaigns_fallback_of_id", table_name="campaigns")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint(op.f("fk_campaigns_fallback_template_id_templates"), type_="foreignkey")
        batch.drop_column("fallback_after_minutes")
        batch.drop_column("fallback_template_id")
