"""Merge this release's parallel branches into one head: 0017 login sessions, 0018 approved segment rules,
0021 channel send rates (on 0020 job firings), 0022 messages.handed_over (on 0020).

They were written in parallel and touch different tables or different columns (users and
login_sessions; campaigns; channel_health; messages), so any order of them gives the same schema.

Revision ID: 0023
Revises: 0017, 0018, 0021, 0022
"""

revision = "0023"
down_revision = ("0017", "0018", "0021", "0022")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
