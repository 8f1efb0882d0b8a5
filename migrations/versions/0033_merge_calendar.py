"""Merge the calendar branch (0027_calendar: an event notice's planned fallback on campaigns, a unique
fallback_of_id, users.dry_run_ok_at) into the head that holds the inbox, China SMS and journeys (0032).

Different columns of campaigns and users than the other branches touch, so either order gives the same schema.

Revision ID: 0033_merge_calendar
Revises: 0032_merge_journeys, 0027_calendar
"""

revision = "0033_merge_calendar"
down_revision = ("0032_merge_journeys", "0027_calendar")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
