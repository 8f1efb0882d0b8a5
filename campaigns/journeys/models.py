"""The journey tables: journeys, their immutable versions, the contacts enrolled in them and every move an
enrolment made (the history is also the proof that a move happened once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base, UTCDateTime

JOURNEY_STATUSES = ("draft", "active", "paused", "stopped")
# active: due at `due_at` to do its current step; waiting: in a wait or wait-for-event step until `due_at`
# (or the event); completed: reached the end, an exit step or the goal; exited: left early (exit_reason).
ENROLMENT_STATUSES = ("active", "waiting", "completed", "exited")
IN_FLIGHT = ("active", "waiting")
# A partial index's WHERE, the same text on SQLite and PostgreSQL.
_IN_FLIGHT_SQL = "status IN ('active', 'waiting')"


class Journey(Base):
    """A multi-step automation. New enrolments take the published version; those in flight keep theirs."""

    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # The number of the version new contacts enter (None: never activated). Not a foreign key: the
    # versions point at the journey, and a cycle of keys would make both tables hard to create and drop.
    published_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Event entries read contact_events in id order from just after this id (campaigns/journeys/entry.py).
    event_cursor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyVersion(Base):
    """One saved definition of a journey (campaigns/journeys/definition.py), never changed once written.

    `send_campaigns` is written once, when the version is published: {"<step key>:<channel>": campaign id},
    the campaign whose runs carry that send step's messages through the outbox.
    """

    __tablename__ = "journey_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    send_campaigns: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (UniqueConstraint("journey_id", "number"),)


class Enrolment(Base):
    """One contact's way through one journey, on one version.

    Unique per (journey, contact, entry_key): the entry key says which entry this is under the re-entry
    policy ("once"; "event:<id>" every time; "at:<time>" once per N days), so entering twice is refused by
    the database, not by a check that two schedulers could both pass. A second index allows one enrolment
    in flight per journey and contact whatever the policy.
    """

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("journey_versions.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(60))
    step_key: Mapped[str] = mapped_column(String(40))  # where it is, or where it was when it finished
    status: Mapped[str] = mapped_column(String(20), default="active")
    exit_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    step_entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # In the entry holdout: goes through every step but is sent nothing, so the journey's lift can be measured.
    holdout: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The event that brought the contact in (templates see its properties as event.properties).
    event_id: Mapped[int | None] = mapped_column(ForeignKey("contact_events.id", ondelete="SET NULL"), nullable=True)
    # Transitions so far; the history row of each move is unique on (enrolment, seq).
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The batch of the engine pass that last marked this row (campaigns/journeys/transitions.py).
    tick: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The purchase that reached a "purchased" goal: the revenue the journey is credited with.
    goal_conversion_id: Mapped[int | None] = mapped_column(ForeignKey("conversions.id", ondelete="SET NULL"),
                                                           nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("journey_id", "contact_id", "entry_key"),
        Index("ix_enrolments_in_flight", "journey_id", "contact_id", unique=True,
              postgresql_where=text(_IN_FLIGHT_SQL), sqlite_where=text(_IN_FLIGHT_SQL)),
        # The engine's path: a version's due rows at a step.
        Index("ix_enrolments_due", "version_id", "step_key", "status", "due_at",
              postgresql_where=text(_IN_FLIGHT_SQL), sqlite_where=text(_IN_FLIGHT_SQL)),
        Index("ix_enrolments_tick", "tick"),
        Index("ix_enrolments_contact", "contact_id"),
    )


class EnrolmentHistory(Base):
    """Append-only: every move of an enrolment — from which step to which (None: into or out of the journey),
    when and why. Unique on (enrolment, seq), so a move applied twice fails instead of happening twice."""

    __tablename__ = "enrolment_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    from_step: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_step: Mapped[str | None] = mapped_column(String(40), nullable=True)
    why: Mapped[str] = mapped_column(String(40))  # entered, next, happened, timed_out, yes, no, goal, …
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("enrolment_id", "seq"),
        Index("ix_enrolment_history_journey_step", "journey_id", "from_step"),
    )
