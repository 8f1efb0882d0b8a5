"""The SQL behind a campaign report: a few GROUP BYs, each one pass over the campaign's rows.

Shaped for a million-recipient campaign (bench/report.py): the events of the campaign are reduced to
one row per message (did a person open it, click it, unsubscribe) before anything else is joined, and
that is joined to the messages once, grouped by every dimension the report slices by (variant,
channel, status, cost currency, and the contact's tier, lifecycle stage and region). Every total,
per-variant, per-channel and per-segment figure is a sum over that small cube, so they add up by
construction. Conversions, the holdout comparison and the time series are one GROUP BY each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, extract, false, func, or_, select
from sqlalchemy.orm import Session

from audiences import Contact
from campaigns.models import CampaignCost, Conversion, Message, MessageEvent, Run
from campaigns.responses.optouts import OPT_OUT_EVENTS
from core.db import Base

# The contact columns a report slices by, if this installation's contacts have them.
SEGMENT_COLUMNS = ("value_tier", "lifecycle_stage", "region")
ENGAGEMENT_EVENTS = ("opened", "clicked", *OPT_OUT_EVENTS)


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
    buyers: int = 0  # recipients who bought within the holdout window (CubeShape.window)
    bought: Decimal = Decimal(0)  # Σ of what each bought
    bought_squares: Decimal = Decimal(0)  # Σ of its square, for the variance
    sent_buyers: int = 0  # the same three, over the rows a provider took (the holdout's sent group)
    sent_bought: Decimal = Decimal(0)
    sent_bought_squares: Decimal = Decimal(0)
    rollout: bool = False  # the A/B winner sent after the test phase (CubeShape.rollout)


@dataclass(frozen=True)
class CubeShape:
    """What else the one pass over the messages collects: purchases in the holdout window (one run only).

    Not the hourly sends: hour expressions in the GROUP BY make PostgreSQL expect a million groups and sort
    them all instead of hashing a few thousand (measured: 4x slower at a million recipients).
    """

    window: tuple[datetime, datetime] | None = None  # [start, end], inclusive like attribution's window
    # SQL true for the A/B rollout's messages (campaigns.ab_test.rollout_condition), once a winner is chosen:
    # one more key, so the test's groups and the rollout are counted apart. Only A/B campaigns pay for it.
    rollout: Any | None = None


def message_id_range(session: Session, *, campaign_id: int) -> tuple[int, int] | None:
    """The lowest and highest message id of a campaign (ix_messages_campaign_id: two index probes)."""
    low, high = session.execute(select(func.min(Message.id), func.max(Message.id))
                                .where(Message.campaign_id == campaign_id)).one()
    return None if low is None else (low, high)


def message_cube(session: Session, *, campaign_id: int, shape: CubeShape = CubeShape()) -> list[CubeRow]:
    """ONE pass over the campaign's messages, grouped by every dimension the report slices by.

    Joined to it: each message's engagement (one row per message, from the few engagement events —
    found through ix_message_events_type_time within the campaign's message id range, so the events
    never need the messages table to be filtered), the contact (for segments), and with a holdout
    window each contact's purchases in it. So the totals, every slice, the holdout groups and the
    the sends all come from the same rows and add up by construction.
    """
    span = message_id_range(session, campaign_id=campaign_id)
    if span is None:
        return []
    person = ~func.coalesce(MessageEvent.detail["machine"].as_boolean(), false())  # a scanner is not a person
    flags = (
        select(MessageEvent.message_id.label("message_id"),
               func.max(case((and_(MessageEvent.type == "opened", person), 1), else_=0)).label("opened"),
               func.max(case((and_(MessageEvent.type == "clicked", person), 1), else_=0)).label("clicked"),
               func.max(case((MessageEvent.type.in_(OPT_OUT_EVENTS), 1), else_=0)).label("unsubscribed"))
        .where(MessageEvent.type.in_(ENGAGEMENT_EVENTS), MessageEvent.message_id.between(*span))
        .group_by(MessageEvent.message_id).subquery("flags")
    )
    columns = segment_columns()
    segment = [getattr(Contact, name) for name in columns]
    # Only real columns here: an expression in the GROUP BY makes PostgreSQL guess 200 values for it, expect
    # hundreds of thousands of groups and sort a million rows instead of hashing a few hundred groups.
    keys = [Message.variant_id, Message.channel, Message.status, Message.currency, *segment]
    if shape.rollout is not None:
        keys.append(shape.rollout)
    measures = [func.count(), func.count(Message.sent_at), func.coalesce(func.sum(flags.c.opened), 0),
                func.coalesce(func.sum(flags.c.clicked), 0), func.coalesce(func.sum(flags.c.unsubscribed), 0),
                func.sum(Message.cost)]
    query = select(Message).outerjoin(flags, flags.c.message_id == Message.id)
    if shape.window is not None:
        bought = (select(Conversion.contact_id.label("contact_id"), func.sum(Conversion.amount_base).label("x"))
                  .where(Conversion.occurred_at >= shape.window[0], Conversion.occurred_at <= shape.window[1])
                  .group_by(Conversion.contact_id).subquery("bought"))
        query = query.outerjoin(bought, bought.c.contact_id == Message.contact_id)
        # The holdout's sent group is whoever a provider took a message for (a "failed" row may or may not be).
        taken = Message.sent_at.is_not(None)
        measures += [func.count(bought.c.contact_id), func.sum(bought.c.x), func.sum(bought.c.x * bought.c.x),
                     func.sum(case((and_(taken, bought.c.contact_id.is_not(None)), 1), else_=0)),
                     func.sum(case((taken, bought.c.x))), func.sum(case((taken, bought.c.x * bought.c.x)))]
    if segment:
        query = query.join(Contact, Contact.id == Message.contact_id)
    query = query.with_only_columns(*keys, *measures).where(Message.campaign_id == campaign_id).group_by(*keys)
    out = []
    for row in session.execute(query):
        variant_id, channel, status, currency = row[:4]
        at = 4 + len(segment)
        seg, values = row[4:at], row[at:]
        rollout = False
        if shape.rollout is not None:
            rollout, values = bool(values[0]), values[1:]
        n, sent, opened, clicked, unsubscribed, cost, *money_ = values
        buyers, bought_sum, squares, sent_buyers, sent_sum, sent_squares = money_ or (0, None, None, 0, None, None)
        out.append(CubeRow(variant_id, channel, status, currency, tuple(seg), n, sent, int(opened), int(clicked),
                           int(unsubscribed), Decimal(cost) if cost is not None else Decimal(0),
                           buyers, Decimal(bought_sum or 0), Decimal(squares or 0), int(sent_buyers or 0),
                           Decimal(sent_sum or 0), Decimal(sent_squares or 0), rollout))
    return out


@dataclass(frozen=True)
class ConversionRow:
    variant_id: int | None
    channel: str | None
    segment: tuple[str | None, ...]
    conversions: int
    converters: int  # distinct contacts
    revenue: Decimal  # in the workspace currency (amount_base)
    recipients: int  # messages with a conversion attributed to them (a credited code may name none)
    squares: Decimal  # Σ over those messages of (what it brought)², for the A/B test's variance
    rollout: bool = False  # credited to a message of the A/B rollout (CubeShape.rollout)


def conversion_cube(session: Session, *, campaign_id: int, rollout: Any | None = None) -> list[ConversionRow]:
    """The campaign's attributed conversions by variant, channel and segment (and A/B phase, given the
    `rollout` condition): summed per message first (ix_conversions_campaign), so each recipient's total is
    one value, then joined to the messages and contacts of those few rows only."""
    per_message = (
        select(Conversion.message_id.label("message_id"), Conversion.contact_id.label("contact_id"),
               func.count().label("n"), func.sum(Conversion.amount_base).label("x"))
        .where(Conversion.campaign_id == campaign_id)
        .group_by(Conversion.message_id, Conversion.contact_id).subquery("per_message")
    )
    columns = segment_columns()
    segment = [getattr(Contact, name) for name in columns]
    keys = [Message.variant_id, Message.channel, *segment]
    if rollout is not None:
        keys.append(rollout)
    x = per_message.c.x
    query = (
        select(*keys, func.sum(per_message.c.n), func.count(func.distinct(per_message.c.contact_id)), func.sum(x),
               func.count(per_message.c.message_id),
               func.sum(case((per_message.c.message_id.is_not(None), x * x))))
        .select_from(per_message)
        .outerjoin(Message, Message.id == per_message.c.message_id)
        .group_by(*keys)
    )
    if segment:
        query = query.join(Contact, Contact.id == per_message.c.contact_id)
    out = []
    for variant_id, channel, *rest in session.execute(query):
        seg, rest = rest[:len(segment)], rest[len(segment):]
        in_rollout = False
        if rollout is not None:
            in_rollout, rest = bool(rest[0]), rest[1:]
        n, converters, revenue, recipients, squares = rest
        out.append(ConversionRow(variant_id, channel, tuple(seg), int(n), converters, Decimal(revenue or 0),
                                 recipients, Decimal(squares or 0), in_rollout))
    return out


def attribution_totals(session: Session, *, campaign_id: int) -> tuple[dict[str, tuple[int, Decimal]], int]:
    """({rule: (conversions, revenue)}, distinct buyers) of the campaign's attributed conversions."""
    totals = {rule: (n, Decimal(revenue or 0)) for rule, n, revenue in session.execute(
        select(Conversion.attribution, func.count(), func.sum(Conversion.amount_base))
        .where(Conversion.campaign_id == campaign_id).group_by(Conversion.attribution))}
    buyers = session.scalar(select(func.count(func.distinct(Conversion.contact_id)))
                            .where(Conversion.campaign_id == campaign_id)) or 0
    return totals, buyers


def converters_by_variant(rows: list[ConversionRow]) -> dict[int | None, tuple[int, Decimal, Decimal]]:
    """{variant id: (recipients who converted, Σ revenue, Σ revenue² per recipient)} for the A/B statistics:
    the test phase's only, the rollout is no part of the comparison."""
    out: dict[int | None, tuple[int, Decimal, Decimal]] = {}
    for row in rows:
        if row.variant_id is not None and not row.rollout:
            n, total, squares = out.get(row.variant_id, (0, Decimal(0), Decimal(0)))
            out[row.variant_id] = (n + row.recipients, total + row.revenue, squares + row.squares)
    return out


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
    start, so they are measured over the same days; the window is inclusive, as attribution's is.
    One query per run (a broadcast has one): the run's window is a pair of bound values, so the
    conversions are summed per contact inside it first (ix_conversions_contact_time), then joined to
    the run's recipients once — no date arithmetic in SQL, which SQLite and PostgreSQL spell differently.
    """
    totals: dict[str, list[Any]] = {}
    for run_id, started in session.execute(select(Run.id, Run.started_at).where(Run.campaign_id == campaign_id)):
        bought = (
            select(Conversion.contact_id.label("contact_id"), func.sum(Conversion.amount_base).label("x"))
            .where(Conversion.occurred_at >= started, Conversion.occurred_at <= started + timedelta(days=window_days))
            .group_by(Conversion.contact_id).subquery("bought")
        )
        group = case((Message.status == "held_out", "held_out"), else_="sent")
        rows = session.execute(
            select(group, func.count(), func.count(bought.c.contact_id), func.sum(bought.c.x),
                   func.sum(bought.c.x * bought.c.x))
            .select_from(Message).outerjoin(bought, bought.c.contact_id == Message.contact_id)
            .where(Message.run_id == run_id, or_(Message.status == "held_out", Message.sent_at.is_not(None)))
            .group_by(group))
        for grp, n, buyers, total, squares in rows:
            acc = totals.setdefault(grp, [0, 0, Decimal(0), Decimal(0)])
            acc[0] += n
            acc[1] += buyers
            acc[2] += Decimal(total or 0)
            acc[3] += Decimal(squares or 0)
    return {grp: GroupOutcome(n, buyers, total, squares) for grp, (n, buyers, total, squares) in totals.items()}


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


# All the world's UTC offsets are whole quarter hours (Nepal +05:45, India +05:30, Chatham +12:45), and so
# are the instants their clocks change: counted by UTC quarter hour, every slot lies in one local hour.
SLOT_SECONDS = 900


def slot_of(session: Session, column: Any) -> Any:
    """The UTC quarter hour of a timestamp column, as whole quarter hours since 1970, in either database.

    Grouped in SQL by that number (arithmetic, cheap; unlike formatting every row with to_char, which
    cost most of the series query at a million rows) and put into the workspace's local hours in Python,
    where the zone database knows each DST change: bucketing by the UTC hour in SQL would put a Kolkata
    click at 09:40 into "09" and label a Shanghai evening as the morning. SQLite stores naive UTC text
    and reads it with strftime('%s'); PostgreSQL takes the epoch of its timestamptz.
    """
    if session.get_bind().dialect.name == "postgresql":
        return func.floor(extract("epoch", column) / SLOT_SECONDS)
    return cast(func.strftime("%s", column), Integer) / SLOT_SECONDS


def local_hours(slots: Iterable[tuple[Any, str, int]], zone: ZoneInfo) -> dict[str, dict[str, int]]:
    """{local hour ("2026-11-23 14"): {"sent", "delivered", "clicked", "conversions"}} from (UTC quarter-hour
    slot, measure, count), in time order. The hour a DST change repeats is two hours, told apart by their
    offsets ("2026-10-25 02 +02:00", "2026-10-25 02 +01:00"), so neither swallows the other."""
    by_hour: dict[tuple[str, timedelta], dict[str, int]] = {}
    first_instant: dict[tuple[str, timedelta], datetime] = {}
    for slot, name, n in slots:
        if slot is None:
            continue
        at = datetime.fromtimestamp(int(slot) * SLOT_SECONDS, UTC).astimezone(zone)
        key = (at.strftime("%Y-%m-%d %H"), at.utcoffset() or timedelta(0))
        point = by_hour.setdefault(key, dict.fromkeys(SERIES_MEASURES, 0))
        point[name] += n
        first_instant[key] = min(first_instant.get(key, at), at)
    repeated = Counter(label for label, _ in by_hour)
    series: dict[str, dict[str, int]] = {}
    for key in sorted(by_hour, key=lambda k: first_instant[k]):
        label, offset = key
        series[label if repeated[label] == 1 else f"{label} {_offset_text(offset)}"] = by_hour[key]
    return series


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


SERIES_MEASURES = ("sent", "delivered", "clicked", "conversions")


def time_series(session: Session, *, campaign_id: int, zone: ZoneInfo = ZoneInfo("UTC")) -> dict[str, dict[str, int]]:
    """{hour in `zone` ("2026-11-23 14"): {"sent", "delivered", "clicked", "conversions"}}, hours with something
    only, in time order.

    Sends and deliveries come from the messages' own times (one scan for both), clicks from the events
    (each person's click, not each clicker), conversions from the attributed orders. By the hour always;
    roll_up_days() makes days of it, so choosing the grain costs no query.
    """
    found: list[tuple[Any, str, int]] = []
    sent, delivered = slot_of(session, Message.sent_at), slot_of(session, Message.delivered_at)
    for sent_at, delivered_at, n in session.execute(
            select(sent, delivered, func.count())
            .where(Message.campaign_id == campaign_id, Message.sent_at.is_not(None)).group_by(sent, delivered)):
        found += [(sent_at, "sent", n), (delivered_at, "delivered", n)]
    b = slot_of(session, MessageEvent.occurred_at)
    found += [(at, "clicked", n) for at, n in session.execute(
        select(b, func.count()).join(Message, Message.id == MessageEvent.message_id)
        .where(Message.campaign_id == campaign_id, MessageEvent.type == "clicked",
               ~func.coalesce(MessageEvent.detail["machine"].as_boolean(), false())).group_by(b))]
    b = slot_of(session, Conversion.occurred_at)
    found += [(at, "conversions", n) for at, n in session.execute(
        select(b, func.count()).where(Conversion.campaign_id == campaign_id).group_by(b))]
    return local_hours(found, zone)


def roll_up_days(series: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The hourly series summed by (local) day ("2026-11-23")."""
    days: dict[str, dict[str, int]] = {}
    for hour, point in series.items():
        day = days.setdefault(hour[:10], dict.fromkeys(point, 0))
        for name, n in point.items():
            day[name] += n
    return days


def fixed_costs(session: Session, *, campaign_id: int) -> list[tuple[str, Decimal, str]]:
    """(label, amount, currency) of the campaign's fixed costs, in the order they were added."""
    return [(label, Decimal(amount), currency) for label, amount, currency in session.execute(
        select(CampaignCost.label, CampaignCost.amount, CampaignCost.currency)
        .where(CampaignCost.campaign_id == campaign_id).order_by(CampaignCost.id))]

