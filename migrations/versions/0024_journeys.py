"""Journeys (issue 16): journeys, their versions, enrolments and their history; contact_events from the
events API; messages know the journey, step and event they were sent for.

Revision ID: 0024_journeys
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0024_journeys"
down_revision = "0023"
branch_labels = None
depends_on = None

IN_FLIGHT = sa.text("status IN ('active', 'waiting')")


def upgrade() -> None:
    op.create_table(
        "contact_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("occurred_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_contact_events_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_events")),
        sa.UniqueConstraint("client_id", name=op.f("uq_contact_events_client_id")),
    )
    op.create_index("ix_contact_events_contact_name", "contact_events", ["contact_id", "name", "occurred_at"])
    op.create_index("ix_contact_events_name", "contact_events", ["name", "id"])
    op.create_table(
        "journeys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("event_cursor", sa.Integer(), server_default="0", nullable=False),
        sa.Column("activated_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_journeys_created_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
    )
    op.create_table(
        "journey_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("send_campaigns", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["journey_id"], ["journeys.id"], name=op.f("fk_journey_versions_journey_id_journeys"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_journey_versions_created_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_versions")),
        sa.UniqueConstraint("journey_id", "number", name=op.f("uq_journey_versions_journey_id_number")),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=60), nullable=False),
        sa.Column("step_key", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("exit_reason", sa.String(length=40), nullable=True),
        sa.Column("due_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("step_entered_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("holdout", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tick", sa.String(length=32), nullable=True),
        sa.Column("goal_conversion_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["journey_id"], ["journeys.id"], name=op.f("fk_enrolments_journey_id_journeys"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["journey_versions.id"],
                                name=op.f("fk_enrolments_version_id_journey_versions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_enrolments_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["contact_events.id"],
                                name=op.f("fk_enrolments_event_id_contact_events"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["goal_conversion_id"], ["conversions.id"],
                                name=op.f("fk_enrolments_goal_conversion_id_conversions"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint("journey_id", "contact_id", "entry_key",
                            name=op.f("uq_enrolments_journey_id_contact_id_entry_key")),
    )
    op.create_index("ix_enrolments_in_flight", "enrolments", ["journey_id", "contact_id"], unique=True,
                    postgresql_where=IN_FLIGHT, sqlite_where=IN_FLIGHT)
    op.create_index("ix_enrolments_due", "enrolments", ["version_id", "step_key", "status", "due_at"],
                    postgresql_where=IN_FLIGHT, sqlite_where=IN_FLIGHT)
    op.create_index("ix_enrolments_tick", "enrolments", ["tick"])
    op.create_index("ix_enrolments_contact", "enrolments", ["contact_id"])
    op.create_table(
        "enrolment_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_step", sa.String(length=40), nullable=True),
        sa.Column("to_step", sa.String(length=40), nullable=True),
        sa.Column("why", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolments.id"],
                                name=op.f("fk_enrolment_history_enrolment_id_enrolments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["journey_id"], ["journeys.id"], name=op.f("fk_enrolment_history_journey_id_journeys"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_history")),
        sa.UniqueConstraint("enrolment_id", "seq", name=op.f("uq_enrolment_history_enrolment_id_seq")),
    )
    op.create_index("ix_enrolment_history_journey_step", "enrolment_history", ["journey_id", "from_step"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("journey_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("journey_step", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_messages_journey_id_journeys"), "journeys", ["journey_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_foreign_key(op.f("fk_messages_event_id_contact_events"), "contact_events", ["event_id"], ["id"],
                                 ondelete="SET NULL")
    op.create_index("ix_messages_journey", "messages", ["journey_id", "journey_step"])


def downgrade() -> None:
    op.drop_index("ix_messages_journey", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(op.f("fk_messages_event_id_contact_events"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_messages_journey_id_journeys"), type_="foreignkey")
        for column in ("event_id", "journey_step", "journey_id"):
            batch.drop_column(column)
    op.drop_index("ix_enrolment_history_journey_step", table_name="enrolment_history")
    op.drop_table("enrolment_history")
    for index in ("ix_enrolments_contact", "ix_enrolments_tick", "ix_enrolments_due", "ix_enrolments_in_flight"):
        op.drop_index(index, table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_table("journey_versions")
    op.drop_table("journeys")
    op.drop_index("ix_contact_events_name", table_name="contact_events")
    op.drop_index("ix_contact_events_contact_name", table_name="contact_events")
    op.drop_table("contact_events")
