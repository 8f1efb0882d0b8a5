"""Merge the journeys branch (0024_journeys: journeys, journey_versions, enrolments, enrolment_history,
contact_events; messages.journey_id, journey_step, event_id) into the head that holds 0024_china_sms and
0026_inbox (0028).

They touch different tables, and different columns of messages (body from the inbox; journey_id, journey_step
and event_id from journeys), so either order gives the same schema.

Revision ID: 0032_merge_journeys
Revises: 0028_merge_china_sms_inbox, 0024_journeys
"""

revision = "0032_merge_journeys"
down_revision = ("0028_merge_china_sms_inbox", "0024_journeys")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
