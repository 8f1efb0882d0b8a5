"""What recipients send back (replies), the keyword rules that act on them, the conversations care staff
keep with them (who looks after each, what is still waiting, the answers and the canned replies), and
each provider's health.

Own module rather than campaigns/models.py: the inbox and the circuit breaker are one aggregate each
and change for their own reasons.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base, UTCDateTime

# What a keyword makes Herald do. "tag" only labels the reply (order, complaint, question…) so the
# inbox can be filtered by it; "add_to_list" is the auto-tag that registers the contact somewhere.
KEYWORD_ACTIONS = ("unsubscribe", "subscribe", "help", "add_to_list", "tag")
# A reply's class in the inbox: the action of the keyword it matched, or "other".
REPLY_CLASSES = (*KEYWORD_ACTIONS, "other")
# Replies Herald dealt with by itself (the keyword did what it says and answered): they arrive handled.
# A question ("other") or a labelled reply (an order, a complaint) waits for a person.
HANDLED_BY_KEYWORD = ("unsubscribe", "subscribe", "help", "add_to_list")


class Reply(Base):
    """One inbound SMS: who sent it, what it said, which contact and which of our messages it answers."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))  # "twilio", "http-sms"
    provider_id: Mapped[str] = mapped_column(String(100))  # MessageSid; unique per provider: idempotency
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    keyword: Mapped[str | None] = mapped_column(String(50), nullable=True)  # the rule's keyword it matched
    classification: Mapped[str] = mapped_column(String(20), default="other")  # one of REPLY_CLASSES
    tag: Mapped[str | None] = mapped_column(String(50), nullable=True)
    segments: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")  # what Herald answered, if anything
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # NULL while it waits for a person (campaigns/responses/conversations.py); a keyword Herald obeyed
    # arrives handled at its received_at, by nobody (handled_by NULL).
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    __table_args__ = (
        UniqueConstraint("provider", "provider_id"),
        Index("ix_replies_received", "received_at"),
        Index("ix_replies_contact_received", "contact_id", "received_at"),
        Index("ix_replies_class_received", "classification", "received_at"),
        # The menu's count and the "waiting" filter read only the few replies still waiting.
        Index("ix_replies_waiting", "contact_id", postgresql_where=text("handled_at IS NULL"),
              sqlite_where=text("handled_at IS NULL")),
    )


class Conversation(Base):
    """A contact's exchange with care staff: who looks after it. One row per contact who ever replied,
    made with the first reply and assigned then to the contact's owner (campaigns/responses/conversations.py)."""

    __tablename__ = "conversations"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True,
                                                    index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    last_reply_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboxAnswer(Base):
    """An SMS a person wrote in the Inbox: who, to which reply, and the outbox row that carries it (its text,
    status and cost live on that message like any other; campaigns/responses/answers.py)."""

    __tablename__ = "inbox_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("replies.id", ondelete="SET NULL"), nullable=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_inbox_answers_contact", "contact_id", "created_at"),)


class CannedReply(Base):
    """A ready answer admins keep for questions that come back ("opening hours", "where is my parcel")."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KeywordRule(Base):
    """A keyword a marketer added in the UI; the opt-out/opt-in/help defaults come from config.toml."""

    __tablename__ = "keyword_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    keyword: Mapped[str] = mapped_column(String(50), unique=True)  # stored normalised (see replies.normalise)
    action: Mapped[str] = mapped_column(String(20))  # one of KEYWORD_ACTIONS
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), nullable=True)
    tag: Mapped[str | None] = mapped_column(String(50), nullable=True)
    reply_text: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# An http-sms URL with its options described runs past this; what is written is cut to fit (provider_label).
PROVIDER_LENGTH = 300


def provider_label(described: str) -> str:
    """A channel's describe() as channel_health.provider keeps it: cut to the column's length, or a long
    gateway URL would make PostgreSQL refuse the breaker's and the throttle's writes (and stop the sender)."""
    return described if len(described) <= PROVIDER_LENGTH else described[:PROVIDER_LENGTH - 1] + "…"


class ChannelHealth(Base):
    """The circuit breaker of one channel ("sms", "email"), shared by every sender process.

    closed: sending normally. open: `consecutive_failures` transient failures in a row; nothing of
    this channel is claimed until `next_try_at`, when one sender probes with a batch. throttled: the
    provider said "slow down"; nothing is claimed until `next_try_at` (campaigns/delivery/throttle.py).

    `send_rate` is the rate every sender paces this channel at, in messages a second, when the provider's
    throttling lowered it below the channel URL's rate= (NULL: the configured rate).
    """

    __tablename__ = "channel_health"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    provider: Mapped[str] = mapped_column(String(PROVIDER_LENGTH), default="")  # describe()d, secrets masked
    state: Mapped[str] = mapped_column(String(10), default="closed")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    send_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    throttled_rate: Mapped[float | None] = mapped_column(Float, nullable=True)  # the rate last refused
    rate_lowered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rate_raised_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
