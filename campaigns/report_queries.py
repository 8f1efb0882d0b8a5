"""The SQL behind a campaign report: a few GROUP BYs, each one pass over the campaign's rows.

Shaped for a million-recipient campaign (bench/report.py): the events of the campaign are reduced to
one row per message (did a person open it, click it, unsubscribe) before anything else is joined, and
that is joined to the messages once, grouped by every dimension the report slices by (variant,
channel, status, cost currency, and the contact's tier, lifecycle stage and region). Every total,
per-variant, per-channel and per-segment figure is a sum over that small cube, so they add up by
construction. Conversions, the holdout comparison and the time series are one GROUP BY each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, false, func, literal, or_, select
from sqlalchemy.orm import Session

from audiences import Contact
from campaigns.models import CampaignCost, Conversion, Message, MessageEvent, Run
from core.db import Base

# The contact columns a report slices by, if this installation's contacts have them.
SEGMENT_COLUMNS = ("value_tier", "lifecycle_stage", "region")
ENGAGEMENT_EVENTS = ("opened", "clicked", "unsubscribed")


def segment_columns() -> list[str]:
    return [name for name in SEGMENT_COLUMNS if hasattr(Contact, name)]


@dataclass(frozen=True)
class CubeRow:
    variant_id: int | None
    channel: str
    status: str
    currency: str | None
    segment: tuple[str | None, ...]  # one value per segment_columns()
    rows: int
    sent: int
    opened: int  # by a person (machine opens left out)
    clicked: int  # by a person, like attribution's clicks
    unsubscribed: int
    cost: Decimal


def message_cube(session: Session, *, campaign_id: int) -> list[CubeRow]:
    """One GROUP BY over the campaign's messages with their engagement flags (and contacts, for segments)."""
    machine = func.coalesce(MessageEvent.detail["machine"].as_boolean(), false())
    flags = (
        select(
            # A scanner's open or click (detail.machine, campaigns/tracking.py) is not a person's.
            MessageEvent.message_id.label("message_id"),
            func.max(case((and_(MessageEvent.type == "opened", ~machine), 1), else_=0)).label("opened"),
            func.max(case((and_(MessageEvent.type == "clicked", ~machine), 1), else_=0)).label("clicked"),
            func.max(case((MessageEvent.type == "unsubscribed", 1), else_=0)).label("unsubscribed"),
        )
        .join(Message, Message.id == MessageEvent.message_id)
        .where(Message.campaign_id == campaign_id, MessageEvent.type.in_(ENGAGEMENT_EVENTS))
        .group_by(MessageEvent.message_id)
        .subquery("flags")
    )
    columns = segment_columns()
    segment = [getattr(Contact, name) for name in columns]
    keys = [Message.variant_id, Message.channel, Message.status, Message.currency, *segment]
    query = (
        select(*keys, func.count(), func.count(Message.sent_at), func.coalesce(func.sum(flags.c.opened), 0),
               func.coalesce(func.sum(flags.c.clicked), 0), func.coalesce(func.sum(flags.c.unsubscribed), 0),
               func.sum(Message.cost))
        .select_from(Message)
        .outerjoin(flags, flags.c.message_id == Message.id)
        .where(Message.campaign_id == campaign_id)
        .group_by(*keys)
    )
    if segment:
        query = query.join(Contact, Contact.id == Message.contact_id)
    out = []
    for row in session.execute(query):
        variant_id, channel, status, currency, *rest = row
        seg, (rows, sent, opened, clicked, unsubscribed, cost) = rest[:len(segment)], rest[len(segment):]
        out.append(CubeRow(variant_id, channel, status, currency, tuple(seg), rows, sent, int(opened), int(clicked),
                           int(unsubscribed), Decimal(cost) if cost is not None else Decimal(0)))
    return out


@dataclass(frozen=True)
class ConversionRow:
    variant_id: int | None
    channel: str | None
    attribution: str
    segment: tuple[str | None, ...]
    conversions: int
    converters: int  # distinct contacts
    revenue: Decimal  # in the workspace currency (amount_base)


def conversion_cube(session: Session, *, campaign_id: int) -> list[ConversionRow]:
    """The campaign's attributed conversions, by variant, channel, rule and segment (one GROUP BY)."""
    columns = segment_columns()
    segment = [getattr(Contact, name) for name in columns]
    keys = [Message.variant_id, Message.channel, Conversion.attribution, *segment]
    query = (
        select(*keys, func.count(), func.count(func.distinct(Conversion.contact_id)), func.sum(Conversion.amount_base))
        .select_from(Conversion)
        .outerjoin(Message, Message.id == Conversion.message_id)
        .where(Conversion.campaign_id == campaign_id)
        .group_by(*keys)
    )
    if segment:
        query = query.join(Contact, Contact.id == Conversion.contact_id)
    out = []
    for variant_id, channel, attribution, *rest in session.execute(query):
        seg, (n, converters, revenue) = rest[:len(segment)], rest[len(segment):]
        out.append(ConversionRow(variant_id, channel, attribution, tuple(seg), n, converters, Decimal(revenue or 0)))
    return out


def converters_by_variant(session: Session, *, campaign_id: int) -> dict[int | None, tuple[int, Decimal, Decimal]]:
    """{variant id: (recipients who converted, Σ revenue, Σ revenue² per recipient)} for the A/B statistics.

    Per recipient (message), so the Welch test sees each recipient's total, not each order.
    """
    per_message = (
        select(Conversion.message_id.label("message_id"), func.sum(Conversion.amount_base).label("x"))
        .where(Conversion.campaign_id == campaign_id, Conversion.message_id.is_not(None))
        .group_by(Conversion.message_id).subquery("per_message")
    )
    rows = session.execute(
        select(Message.variant_id, func.count(), func.sum(per_message.c.x), func.sum(per_message.c.x * per_message.c.x))
        .join(Message, Message.id == per_message.c.message_id)
        .group_by(Message.variant_id))
    return {v: (n, Decimal(s or 0), Decimal(sq or 0)) for v, n, s, sq in rows}


@dataclass(frozen=True)
class GroupOutcome:
    """One side of the holdout comparison: people, buyers among them, Σ revenue and Σ revenue² per person."""

    people: int
    buyers: int
    revenue: Decimal
    squares: Decimal


def holdout_outcomes(session: Session, *, campaign_id: int, window_days: int) -> dict[str, GroupOutcome]:
    """{"sent": …, "held_out": …}: every conversion of each person within `window_days` of their run's start.

    Attribution does not matter here (a held-out person's purchases are attributed to no campaign):
    the question is how much *everyone* in each group bought. Both groups are counted from the run's
    start, so they are measured over the same days. The window ends are computed per run in Python and
    passed in, so the SQL has no date arithmetic (which SQLite and PostgreSQL spell differently).
    """
    runs = session.execute(select(Run.id, Run.started_at).where(Run.campaign_id == campaign_id)).all()
    if not runs:
        return {}
    started = case(*((Message.run_id == rid, literal(at, Run.started_at.type)) for rid, at in runs))
    ends = case(*((Message.run_id == rid, literal(at + timedelta(days=window_days), Run.started_at.type))
                  for rid, at in runs))
    group = case((Message.status == "held_out", "held_out"), else_="sent").label("grp")
    per_person = (
        select(Message.id.label("message_id"), group, func.coalesce(func.sum(Conversion.amount_base), 0).label("x"),
               func.count(Conversion.id).label("n"))
        .select_from(Message)
        .outerjoin(Conversion, and_(Conversion.contact_id == Message.contact_id, Conversion.occurred_at >= started,
                                    Conversion.occurred_at < ends))
        .where(Message.campaign_id == campaign_id, or_(Message.status == "held_out", Message.sent_at.is_not(None)))
        .group_by(Message.id, group).subquery("per_person")
    )
    rows = session.execute(
        select(per_person.c.grp, func.count(), func.sum(case((per_person.c.n > 0, 1), else_=0)),
               func.sum(per_person.c.x), func.sum(per_person.c.x * per_person.c.x))
        .group_by(per_person.c.grp))
    return {grp: GroupOutcome(n, int(buyers or 0), Decimal(s or 0), Decimal(sq or 0)) for grp, n, buyers, s, sq in rows}


def replies_by_variant(session: Session, *, campaign_id: int) -> dict[int | None, int] | None:
    """{variant id: messages answered by at least one reply}, or None when this installation has no replies table."""
    replies = Base.metadata.tables.get("replies")
    if replies is None or "message_id" not in replies.c:
        return None
    rows = session.execute(
        select(Message.variant_id, func.count(func.distinct(replies.c.message_id)))
        .join(Message, Message.id == replies.c.message_id)
        .where(Message.campaign_id == campaign_id).group_by(Message.variant_id))
    return dict(rows.all())


def time_bucket(session: Session, column: Any, grain: str) -> Any:
    """The hour ("2026-11-23 14") or day ("2026-11-23") of a UTC timestamp column, as text, in either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24" if grain == "hour" else "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d %H" if grain == "hour" else "%Y-%m-%d", column)


def time_series(session: Session, *, campaign_id: int, grain: str) -> dict[str, dict[str, int]]:
    """{bucket: {"sent", "delivered", "clicked", "conversions"}}: sends and deliveries from the messages' own
    times, clicks from the events (each person's click, not each clicker), conversions from the attributed orders."""
    series: dict[str, dict[str, int]] = {}

    def add(name: str, query: Any) -> None:
        for bucket_, n in session.execute(query):
            if bucket_ is not None:
                series.setdefault(str(bucket_), dict.fromkeys(("sent", "delivered", "clicked", "conversions"), 0))
                series[str(bucket_)][name] += n

    for name, column in (("sent", Message.sent_at), ("delivered", Message.delivered_at)):
        b = time_bucket(session, column, grain)
        add(name, select(b, func.count()).where(Message.campaign_id == campaign_id, column.is_not(None)).group_by(b))
    b = time_bucket(session, MessageEvent.occurred_at, grain)
    add("clicked", select(b, func.count()).join(Message, Message.id == MessageEvent.message_id)
        .where(Message.campaign_id == campaign_id, MessageEvent.type == "clicked",
               ~func.coalesce(MessageEvent.detail["machine"].as_boolean(), false())).group_by(b))
    b = time_bucket(session, Conversion.occurred_at, grain)
    add("conversions", select(b, func.count()).where(Conversion.campaign_id == campaign_id).group_by(b))
    return dict(sorted(series.items()))


def activity_span(session: Session, *, campaign_id: int) -> tuple[datetime | None, datetime | None]:
    """First and last send time of the campaign, to choose hours or days for the time series."""
    row = session.execute(select(func.min(Message.sent_at), func.max(Message.sent_at))
                          .where(Message.campaign_id == campaign_id)).one()
    return row[0], row[1]


def fixed_costs(session: Session, *, campaign_id: int) -> list[tuple[str, Decimal, str]]:
    """(label, amount, currency) of the campaign's fixed costs, in the order they were added."""
    return [(label, Decimal(amount), currency) for label, amount, currency in session.execute(
        select(CampaignCost.label, CampaignCost.amount, CampaignCost.currency)
        .where(CampaignCost.campaign_id == campaign_id).order_by(CampaignCost.id))]

