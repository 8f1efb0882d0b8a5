"""A template bound to a provider's registered template (Alibaba Cloud, Tencent Cloud SMS; campaigns/content/provider_templates.py):
templates.provider_template (the provider's template code, "" = not bound) and templates.provider_params (each
placeholder of the registered text mapped to a Jinja expression, in the template's order; NULL = none).

Revision ID: 0024_china_sms
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_china_sms"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("provider_template", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("provider_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("provider_params")
        batch.drop_column("provider_template")
