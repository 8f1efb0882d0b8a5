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
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base, UTCDateTime

CHANNELS = ("email", "sms")
# Campaigns Herald makes to carry one-off messages through the outbox, never sent, edited or scheduled by a
# marketer, so the campaign and template lists leave them out: Inbox answers (campaigns/responses/answers.py)
# and sign-up confirmations (campaigns/signups/confirmation.py). Reports still count what they cost.
HIDDEN_KINDS = ("inbox", "signup")
# Campaign.kind of the hidden campaign each test send makes (campaigns/delivery/seed_sends.py): its messages
# go through the outbox like any other, and every count, cap and report leaves them out.
TEST_KIND = "test"

CAMPAIGN_STATUSES = ("draft", "pending_approval", "scheduled", "running", "paused", "completed", "cancelled",
                     "failed")
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
    "duplicate": 3,  # never sent: another contact in the run has the same address (campaigns/audience/duplicates.py)
    "held_out": 3,  # never sent on purpose: the campaign's holdout group, to measure what it caused
    # Not yet due to anyone: the rest of an A/B test's audience, waiting for the winning variant.
    # Rank 0 like pending: choosing the winner turns these rows pending (campaigns/ab_test.py).
    "waiting": 0,
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
    # SMS bound to a provider's registered template (campaigns/content/provider_templates.py): its code ("" = not bound)
    # and each placeholder of the registered text (the body) mapped to a Jinja expression, in order.
    provider_template: Mapped[str] = mapped_column(String(64), default="", server_default="")
    provider_params: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("uq_campaigns_fallback_of_id", "fallback_of_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="broadcast")
    channel: Mapped[str] = mapped_column(String(10))
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id"), nullable=True)  # None = all contacts
    status: Mapped[str] = mapped_column(String(20), default="draft")
    guarantee: Mapped[str] = mapped_column(String(20), default="at_most_once")
    # Email only: the sender account, a name from [channels.email.senders]; None = [channels.email] itself.
    sender: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Holdout and A/B (campaigns/audience/holdout.py, campaigns/ab_test.py): the share of the audience held out
    # to measure what the campaign caused; the share that tests the variants first (0 = every recipient
    # gets a variant at once); the metric that picks the winner, and after how many hours (None = by hand).
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ab_test_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ab_metric: Mapped[str] = mapped_column(String(30), default="click_rate", server_default="click_rate")
    ab_wait_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ab_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Engagement and attribution (campaigns/responses/tracking.py, campaigns/results/attribution.py). `code` is what a
    # shop writes on an order to credit this campaign explicitly ("SPRING26"); it wins attribution.
    code: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    track_clicks: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    track_opens: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))  # privacy
    utm_source: Mapped[str] = mapped_column(String(100), default="", server_default="")  # "" = not added
    utm_medium: Mapped[str] = mapped_column(String(100), default="", server_default="")
    utm_campaign: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Lifecycle and controls (campaigns/states.py, caps.py, notices.py). A saved segment narrows the
    # audience (the list's members, or everyone) and is evaluated when the run is materialised.
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"), nullable=True)
    # Operational notices (a gate change, a cancelled flight) reach contacts who opted out of marketing.
    operational: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Frequency caps: ignored altogether, or this campaign's own limit instead of [caps] in config.toml.
    ignore_caps: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    cap_messages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cap_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # An event notice's re-send through the other channel points at the notice it follows up.
    # Unique (migration 0027): a notice has at most one re-send, however many schedulers or clicks make it.
    fallback_of_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"),
                                                       nullable=True)
    # An event notice's planned fallback (campaigns/notices.py): the other channel's template, and how many
    # minutes after the notice starts sending the scheduler re-sends it to everyone not delivered. None: none.
    fallback_template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"),
                                                             nullable=True)
    fallback_after_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When it sends (campaigns/schedules.py): None = when someone presses Send now; else a Schedule as
    # JSON — at a time (sender's or each recipient's zone), a cron rule, a date rule, a holiday — plus
    # its quiet hours. Validated by Schedule.from_dict before it is stored.
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Set by each firing: the schedule's next one (None: none left, or it has not fired yet). A campaign
    # with firings left goes back to `scheduled` when its runs finish, not `completed` (finish_idle_runs).
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # The segment's rules as submitted for approval (campaigns/states.py): what the approver saw is who it
    # reaches, whatever the segment says later. None: not submitted (the segment's rules are read live).
    approved_segment_rules: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CampaignTransition(Base):
    """Append-only: every change of a campaign's status, who made it (None: Herald itself) and why."""

    __tablename__ = "campaign_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_campaign_transitions_campaign", "campaign_id", "at"),)


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
    # The firing this run belongs to (a scheduled campaign's trigger time; None: sent by hand), and
    # what the scheduler has to say about it, one line per note ("fired 7 h late, within the grace…").
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (UniqueConstraint("campaign_id", "occasion_key"),)


class CampaignOccasion(Base):
    """Once per person per occasion: a date-rule campaign greets a contact for "birthday:2027" once.

    The primary key is the proof: the row is inserted before the message, in the same transaction, and
    only contacts whose row this run inserted get a message — a second firing the same day, a job run
    twice, or a contact whose birthday was edited to a later day of the same year all find it taken.
    """

    __tablename__ = "campaign_occasions"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    occasion: Mapped[str] = mapped_column(String(100), primary_key=True)  # "birthday:2027", "date.renewal:2027"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_campaign_occasions_run", "run_id"),)


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
    # The A/B variant this recipient was given at materialisation (None: no variants, or not sent).
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_variants.id", ondelete="SET NULL"),
                                                   nullable=True)
    # While `sending`: False means the sender has certainly not handed this message to the provider yet
    # (it records again before it does, campaigns/delivery/answer_groups.py), so a sender that dies leaves it
    # pending for the next one, not `unknown`. True, the default, means it may have: unknown if the sender dies.
    handed_over: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The text written for this one message, sent as written: an Inbox answer (campaigns/responses/answers.py),
    # or a sign-up confirmation (campaigns/signups/confirmation.py: the SMS text, or the email's HTML). NULL for
    # every campaign message, which is rendered from its template when it is sent.
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A journey's message (campaigns/journeys/): the journey and step it was sent by, and the event that brought
    # the contact into the journey (its properties are the template's event.properties). None otherwise.
    journey_id: Mapped[int | None] = mapped_column(ForeignKey("journeys.id", ondelete="SET NULL"), nullable=True)
    journey_step: Mapped[str | None] = mapped_column(String(40), nullable=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("contact_events.id", ondelete="SET NULL"),
                                                 nullable=True)

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
        # The reconciler's sweep (campaigns/delivery/reconcile.py): the few unknown rows, by id.
        Index("ix_messages_unknown", "id", postgresql_where=text("status = 'unknown'"),
              sqlite_where=text("status = 'unknown'")),
        Index("ix_messages_provider_id", "provider_id"),
        Index("ix_messages_campaign_status", "campaign_id", "status"),
        Index("ix_messages_contact_sent", "contact_id", "sent_at"),
        Index("ix_messages_journey", "journey_id", "journey_step"),
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


class Link(Base):
    """A link of a campaign's content, numbered so a click URL can be short: /l/<message>.<link>.<sig>.

    One row per distinct URL per campaign (personalised URLs give one row per variant), not per
    message, so a million-recipient broadcast with five links stores five rows. The URL is stored as
    rendered, before UTM parameters are added, and `url_hash` keeps the unique key small whatever
    the URL's length (PostgreSQL cannot index very long text).
    """

    __tablename__ = "links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("campaign_id", "url_hash"),)


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


class CampaignVariant(Base):
    """One version of a campaign's content in an A/B test; recipients are split by `weight`."""

    __tablename__ = "campaign_variants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(50))  # "A", "B", … shown on the report
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    weight: Mapped[int] = mapped_column(Integer, default=1)
    winner: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    __table_args__ = (UniqueConstraint("campaign_id", "label"),)


class RatePlan(Base):
    """What a provider charges: per SMS segment (by destination country prefix) or per email.

    The first `monthly_free_quota` messages of a calendar month through this plan cost nothing.
    An empty `country_prefix` matches every destination; the longest matching prefix wins.
    """

    __tablename__ = "rate_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    provider: Mapped[str] = mapped_column(String(30), default="")  # "" = any provider of the channel
    country_prefix: Mapped[str] = mapped_column(String(8), default="")  # "+86"; "" = anywhere
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 6))  # per segment (sms) or per message (email)
    currency: Mapped[str] = mapped_column(String(3))
    monthly_free_quota: Mapped[int] = mapped_column(Integer, default=0)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_to: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # exclusive; None = open
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# The report's range of a campaign's message ids (campaigns/results/report_queries.py message_id_range): min and max
# as two index probes, where ix_messages_campaign_status would read every row of the campaign.
Index("ix_messages_campaign_id", Message.campaign_id, Message.id)


class RatePlanUsage(Base):
    """Units (SMS segments or emails) priced through a rate plan in a calendar month, for its free quota.

    A counter row per (plan, month), moved with one conditional UPDATE per batch, so concurrent senders
    never both take the same free units and no send-time query counts the messages table.
    """

    __tablename__ = "rate_plan_usage"

    plan_id: Mapped[int] = mapped_column(ForeignKey("rate_plans.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11", UTC
    units: Mapped[int] = mapped_column(Integer, default=0)


class CampaignCost(Base):
    """A fixed cost of a campaign (creative, gifts, agency), added to what its messages cost."""

    __tablename__ = "campaign_costs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_campaign_costs_campaign", "campaign_id"),)
