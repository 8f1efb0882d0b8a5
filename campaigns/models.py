"""Templates, campaigns, runs, the outbox (messages) and what happened to each message (events)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base, UTCDateTime

CHANNELS = ("email", "sms")

CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "paused", "completed", "cancelled", "failed")
GUARANTEES = ("at_most_once", "at_least_once")

# A message's status. Order matters: a status only ever moves to a higher rank, so a late
# "sent" callback can never overwrite "delivered" (DESIGN §3). Terminal outcomes share a rank.
MESSAGE_STATUS_RANK = {
    "pending": 0,
    "sending": 1,  # claimed by a worker, lease running
    "sent": 2,  # the provider accepted it
    "delivered": 3,
    "failed": 3,
    "unknown": 3,  # the worker died after claiming; the provider may or may not have it
    "suppressed": 3,  # never sent: unsubscribed, no address, or otherwise excluded
    "cancelled": 3,
    "capped": 3,  # never sent: the contact already had as many messages as the frequency cap allows
    "held_out": 3,  # never sent on purpose: the campaign's holdout group, to measure what it caused
}
MESSAGE_STATUSES = tuple(MESSAGE_STATUS_RANK)


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(Text, default="")  # email
    html: Mapped[str] = mapped_column(Text, default="")  # email
    text: Mapped[str] = mapped_column(Text, default="")  # email plain part; derived from html if empty
    body: Mapped[str] = mapped_column(Text, default="")  # sms
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="broadcast")
    channel: Mapped[str] = mapped_column(String(10))
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id"), nullable=True)  # None = all contacts
    status: Mapped[str] = mapped_column(String(20), default="draft")
    guarantee: Mapped[str] = mapped_column(String(20), default="at_most_once")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Run(Base):
    """One firing of a campaign: a broadcast has one; a recurring or date-rule campaign many."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    occasion_key: Mapped[str] = mapped_column(String(100))  # "once", "birthday:2027", "2026-11-23T10:00"
    status: Mapped[str] = mapped_column(String(20), default="running")
    channel_url: Mapped[str] = mapped_column(String(300), default="")  # describe()d, secrets masked
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)  # log:// channel: nothing really leaves
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (UniqueConstraint("campaign_id", "occasion_key"),)


class Message(Base):
    """The outbox row and the truth about one message to one contact."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(254), nullable=True)  # snapshot at materialisation
    status: Mapped[str] = mapped_column(String(20), default="pending")
    priority: Mapped[int] = mapped_column(Integer, default=100)  # lower goes first
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    segments: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 6), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        UniqueConstraint("run_id", "contact_id", "channel"),
        # The claim query's path: due pending rows in priority order. Partial on PostgreSQL and
        # SQLite alike, so the index holds only the rows still to send.
        Index(
            "ix_messages_due",
            "priority",
            "not_before",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_messages_lease", "lease_expires_at", postgresql_where=text("status = 'sending'"),
              sqlite_where=text("status = 'sending'")),
        Index("ix_messages_provider_id", "provider_id"),
        Index("ix_messages_campaign_status", "campaign_id", "status"),
        Index("ix_messages_contact_sent", "contact_id", "sent_at"),
    )


class MessageEvent(Base):
    """Append-only: everything that happened to a message, in the provider's words where it spoke."""

    __tablename__ = "message_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))  # queued, sent, delivered, failed, retry, unknown, ...
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_message_events_message", "message_id"),
        Index("ix_message_events_type_time", "type", "occurred_at"),
    )


class Conversion(Base):
    """A purchase (or any valued goal) by a contact, and the campaign it is attributed to, if any.

    The order id makes recording idempotent: the same order reported twice is one conversion.
    `amount` is in `currency`; `amount_base` is the same value in the workspace currency ([app]
    currency) at the configured rate, so reports can add amounts up.
    """

    __tablename__ = "conversions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(100), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    amount_base: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    product: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    campaign_code: Mapped[str | None] = mapped_column(String(100), nullable=True)  # explicit, wins attribution
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), nullable=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    attribution: Mapped[str] = mapped_column(String(20), default="none")  # code | click | receipt | none
    source: Mapped[str] = mapped_column(String(20), default="api")  # api | import
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_conversions_contact_time", "contact_id", "occurred_at"),
        Index("ix_conversions_campaign", "campaign_id"),
    )
