"""Merge the branches of this release (0005 contact data … 0012 holdout, A/B and costs) into one head.

They were written in parallel, each on top of 0004, and touch different tables or different columns,
so any order of them gives the same schema. From here on migrations form one line again.

Revision ID: 0013
Revises: 0005, 0007, 0008, 0009, 0010, 0011, 0012
"""

revision = "0013"
down_revision = ("0005", "0007", "0008", "0009", "0010", "0011", "0012")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
