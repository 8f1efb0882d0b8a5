"""Merge the sign-up forms branch (0030_signup: signup_forms, signup_submissions, consent_changes.evidence)
into the head that holds the inbox, China SMS, journeys and calendar (0033).

Tables and a column no other branch touches, so either order gives the same schema.

Revision ID: 0034_merge_signup
Revises: 0033_merge_calendar, 0030_signup
"""

revision = "0034_merge_signup"
down_revision = ("0033_merge_calendar", "0030_signup")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
