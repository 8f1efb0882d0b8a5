"""The overview report: every campaign that started in a period, by channel, by kind and by month, and
the retention view — dormant contacts the campaigns brought back.

Four GROUP BYs over all the period's campaigns at once (messages, person clicks, attributed conversions,
fixed costs) and two for retention, whatever the number of campaigns; money is
summed in SQL as NUMERIC and converted to the workspace currency here, like the campaign report.

Dormant, for the retention view, is judged from purchases, not from the contact's stage today (a
contact brought back is no longer dormant): a recipient who had bought nothing in the [rfm] dormant_days
before the campaign started. Reactivated: such a recipient with a conversion attributed to the campaign.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, false, func, literal, select
from sqlalchemy.orm import Session

from campaigns.models import TEST_KIND, Campaign, CampaignCost, Conversion, Message, MessageEvent, Run
from campaigns.results.report_numbers import NOT_APPLICABLE, has_revenue_goal, money, ratio
from campaigns.results.report_settings import ReportSettings


@dataclass
class Line:
    """One campaign, or a group of them (a channel, a kind, a month)."""

    key: str
    campaigns: int = 0
    audience: int = 0
    sent: int = 0
    delivered: int = 0
    clicked: int = 0
    conversions: int = 0
    revenue: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    # A campaign's line: False for an event notice or operational message, whose ROI does not apply. A group's
    # line: whether any member has a revenue goal; its ROI counts only those members' revenue and cost, so a
    # month of flight notices does not read as a loss nor drag the promotions' ROI down.
    revenue_goal: bool = True
    goal_revenue: Decimal | None = None  # a group's, over the members with a revenue goal (None: a campaign's line)
    goal_cost: Decimal = Decimal(0)

    def add(self, other: Line) -> None:
        if self.goal_revenue is None:  # the first member makes this a group
            self.goal_revenue, self.revenue_goal = Decimal(0), False
        self.campaigns += other.campaigns
        for name in ("audience", "sent", "delivered", "clicked", "conversions", "revenue", "cost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.revenue_goal:
            revenue, cost = other.roi_basis()
            self.revenue_goal = True
            self.goal_revenue += revenue
            self.goal_cost += cost

    def roi_basis(self) -> tuple[Decimal, Decimal]:
        return (self.revenue, self.cost) if self.goal_revenue is None else (self.goal_revenue, self.goal_cost)

    @property
    def roi(self) -> Decimal | None:
        if not self.revenue_goal:
            return None
        revenue, cost = self.roi_basis()
        return ratio(revenue - cost, cost)

    def roi_text(self) -> str:
        """ROI as the exports write it: "n/a" where it does not apply, empty where there is no cost."""
        if not self.revenue_goal:
            return NOT_APPLICABLE
        return "" if self.roi is None else str(self.roi)

    def row(self, currency: str) -> list[Any]:
        return [self.key, self.campaigns, self.audience, self.sent, self.delivered, self.clicked, self.conversions,
                money(self.revenue, currency), money(self.cost, currency), self.roi_text()]

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {"key": self.key, "campaigns": self.campaigns, "audience": self.audience, "sent": self.sent,
                "delivered": self.delivered, "clicked": self.clicked, "conversions": self.conversions,
                "revenue": money(self.revenue, currency), "cost": money(self.cost, currency),
                "roi": None if self.roi is None else str(self.roi), "roi_applicable": self.revenue_goal}


LINE_COLUMNS = ["Campaigns", "Audience", "Sent", "Delivered", "Clicked", "Conversions", "Revenue", "Cost", "ROI"]


@dataclass(frozen=True)
class CampaignLine:
    campaign_id: int
    name: str
    channel: str
    kind: str
    status: str
    started_at: datetime
    figures: Line
    dormant_sent: int
    reactivated: int


@dataclass
class OverviewReport:
    start: datetime
    end: datetime
    currency: str
    campaigns: list[CampaignLine]
    dormant_days: int
    total: Line
    by_channel: list[Line]
    by_kind: list[Line]
    by_month: list[Line]
    unconverted: dict[str, Decimal] = field(default_factory=dict)
    time_zone: str = "UTC"  # the workspace's: the period's days, each campaign's start day and the months

    def local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo(self.time_zone))

    @property
    def dormant_sent(self) -> int:
        return sum(c.dormant_sent for c in self.campaigns)

    @property
    def reactivated(self) -> int:
        return sum(c.reactivated for c in self.campaigns)

    def tables(self) -> list[tuple[str, str, list[str], list[list[Any]]]]:
        cur = self.currency
        campaigns = [[c.name, c.channel, c.kind, c.status, self.local(c.started_at).date().isoformat(),
                      *c.figures.row(cur)[2:]]
                     for c in self.campaigns]
        retention = [[c.name, c.dormant_sent, c.reactivated, str(ratio(c.reactivated, c.dormant_sent) or "")]
                     for c in self.campaigns if c.dormant_sent]
        return [
            ("campaigns", "Campaigns", ["Campaign", "Channel", "Kind", "Status", "Started", *LINE_COLUMNS[1:]],
             campaigns),
            ("channels", "By channel", ["Channel", *LINE_COLUMNS], [line.row(cur) for line in self.by_channel]),
            ("kinds", "By kind", ["Kind", *LINE_COLUMNS], [line.row(cur) for line in self.by_kind]),
            ("months", "By month", ["Month", *LINE_COLUMNS], [line.row(cur) for line in self.by_month]),
            ("retention", "Dormant contacts reactivated",
             ["Campaign", "Dormant contacts sent to", "Dormant contacts reactivated", "Reactivation rate"], retention),
        ]

    def to_dict(self) -> dict[str, Any]:
        cur = self.currency
        return {
            "start": self.start.isoformat(), "end": self.end.isoformat(), "currency": cur,
            "total": self.total.to_dict(cur), "dormant_days": self.dormant_days, "dormant_sent": self.dormant_sent,
            "reactivated": self.reactivated,
            "campaigns": [{"campaign_id": c.campaign_id, "name": c.name, "channel": c.channel, "kind": c.kind,
                           "status": c.status, "started_at": c.started_at.isoformat(), **c.figures.to_dict(cur),
                           "dormant_sent": c.dormant_sent, "reactivated": c.reactivated} for c in self.campaigns],
            "by_channel": [line.to_dict(cur) for line in self.by_channel],
            "by_kind": [line.to_dict(cur) for line in self.by_kind],
            "by_month": [line.to_dict(cur) for line in self.by_month],
            "unconverted_costs": {c: money(a, c) for c, a in self.unconverted.items()},
        }


def local_midnight(day: date, time_zone: str) -> datetime:
    """The instant `day` starts in the workspace's zone (the overview's period is whole local days), in UTC."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def _convert(amount: Decimal, currency: str | None, base: str, rates: Mapping[str, Decimal]) -> Decimal | None:
    code = (currency or base).upper()
    return amount if code == base.upper() else (amount * rates[code] if code in rates else None)


def overview_report(session: Session, *, start: datetime, end: datetime, settings: ReportSettings) -> OverviewReport:
    """Campaigns whose first run started in [start, end), newest first, with their totals and groupings; each
    campaign's start day and month are the workspace's (settings.time_zone), as the page writes its dates.

    A recipient with no purchase in settings.dormant_days ([rfm] dormant_days) before is dormant."""
    currency, rates, dormant_days = settings.currency, settings.upper_rates(), settings.dormant_days
    started = func.min(Run.started_at)
    found = session.execute(
        select(Campaign.id, Campaign.name, Campaign.channel, Campaign.kind, Campaign.status, started,
               Campaign.operational)
        .join(Run, Run.campaign_id == Campaign.id)
        .where(Campaign.kind != TEST_KIND)  # test sends (campaigns/delivery/seed_sends.py) are no campaign's figures
        .group_by(Campaign.id, Campaign.name, Campaign.channel, Campaign.kind, Campaign.status, Campaign.operational)
        .having(and_(started >= start, started < end))
        .order_by(started.desc(), Campaign.id.desc())).all()
    ids = [row[0] for row in found]
    lines = {cid: Line(name, campaigns=1, revenue_goal=has_revenue_goal(kind, bool(operational)))
             for cid, name, _, kind, _, _, operational in found}
    unconverted: dict[str, Decimal] = defaultdict(Decimal)

    def add_cost(cid: int, amount: Decimal, cur: str | None) -> None:
        as_base = _convert(amount, cur, currency, rates)
        if as_base is None:
            unconverted[(cur or "").upper()] += amount
        else:
            lines[cid].cost += as_base

    if ids:
        # One plain scan of the period's messages, grouped by plain columns only: joining the clicks into it
        # made PostgreSQL build the click hash once per parallel worker (1.5 s of 2 s at a million messages).
        for cid, status, cur, n, sent, cost in session.execute(
                select(Message.campaign_id, Message.status, Message.currency, func.count(), func.count(Message.sent_at),
                       func.sum(Message.cost))
                .where(Message.campaign_id.in_(ids)).group_by(Message.campaign_id, Message.status, Message.currency)):
            line = lines[cid]
            line.audience += n
            line.sent += sent
            line.delivered += n if status == "delivered" else 0
            if cost is not None:
                add_cost(cid, Decimal(cost), cur)
        # Person clicks start from the few click events (ix_message_events_type_time) and reach their
        # message by its primary key; a message clicked twice counts once.
        person = ~func.coalesce(MessageEvent.detail["machine"].as_boolean(), false())
        for cid, clicks in session.execute(
                select(Message.campaign_id, func.count(func.distinct(MessageEvent.message_id)))
                .join(Message, Message.id == MessageEvent.message_id)
                .where(MessageEvent.type == "clicked", person, Message.campaign_id.in_(ids))
                .group_by(Message.campaign_id)):
            lines[cid].clicked = clicks
        for cid, n, revenue in session.execute(
                select(Conversion.campaign_id, func.count(), func.sum(Conversion.amount_base))
                .where(Conversion.campaign_id.in_(ids)).group_by(Conversion.campaign_id)):
            lines[cid].conversions, lines[cid].revenue = n, Decimal(revenue or 0)
        for cid, cur, amount in session.execute(
                select(CampaignCost.campaign_id, CampaignCost.currency, func.sum(CampaignCost.amount))
                .where(CampaignCost.campaign_id.in_(ids)).group_by(CampaignCost.campaign_id, CampaignCost.currency)):
            add_cost(cid, Decimal(amount), cur)
    retention = _retention(session, {row[0]: row[5] for row in found}, dormant_days,
                           {cid: line.sent for cid, line in lines.items()})

    campaigns = [CampaignLine(cid, name, channel, kind, status, at, lines[cid], *retention.get(cid, (0, 0)))
                 for cid, name, channel, kind, status, at, _ in found]
    total = Line("All")
    groups: dict[str, dict[str, Line]] = {"channel": {}, "kind": {}, "month": {}}
    zone = ZoneInfo(settings.time_zone)
    for c in campaigns:
        total.add(c.figures)
        month = c.started_at.astimezone(zone).strftime("%Y-%m")  # a campaign at 02:00 on the 1st, Shanghai time
        for name, key in (("channel", c.channel), ("kind", c.kind), ("month", month)):
            groups[name].setdefault(key, Line(key)).add(c.figures)
    return OverviewReport(start, end, currency, campaigns, dormant_days, total,
                          *[[g[k] for k in sorted(g)] for g in groups.values()], unconverted=dict(unconverted),
                          time_zone=settings.time_zone)


def _retention(session: Session, started: Mapping[int, datetime], dormant_days: int,
               sent: Mapping[int, int]) -> dict[int, tuple[int, int]]:
    """{campaign id: (dormant recipients sent to, of them with a conversion attributed to the campaign)}.

    Both counts start from the purchases, which are few, never from the messages: the recipients who
    were *not* dormant are those with a purchase in the dormant_days before the campaign started (found
    through ix_messages_contact_sent), subtracted from `sent` (messages a provider took, per campaign); the
    reactivated are the campaign's attributed buyers with no purchase in those days. Each campaign's
    start is a bound value (a CASE on the campaign id): no date arithmetic in SQL.
    """
    if not started:
        return {}

    def window(campaign_id: Any) -> tuple[Any, Any]:
        since = case(*((campaign_id == cid, literal(at - timedelta(days=dormant_days), Run.started_at.type))
                       for cid, at in started.items()))
        until = case(*((campaign_id == cid, literal(at, Run.started_at.type)) for cid, at in started.items()))
        return since, until

    since, until = window(Message.campaign_id)
    active = dict(session.execute(
        select(Message.campaign_id, func.count(func.distinct(Message.contact_id)))
        .join(Conversion, Conversion.contact_id == Message.contact_id)
        .where(Message.campaign_id.in_(list(started)), Message.sent_at.is_not(None),
               Conversion.occurred_at >= since, Conversion.occurred_at < until)
        .group_by(Message.campaign_id)).tuples().all())
    earlier = Conversion.__table__.alias("earlier")
    since, until = window(Conversion.campaign_id)
    bought_before = exists().where(earlier.c.contact_id == Conversion.contact_id, earlier.c.occurred_at >= since,
                                   earlier.c.occurred_at < until)
    back = dict(session.execute(
        select(Conversion.campaign_id, func.count(func.distinct(Conversion.contact_id)))
        .where(Conversion.campaign_id.in_(list(started)), ~bought_before)
        .group_by(Conversion.campaign_id)).tuples().all())
    return {cid: (max(0, sent.get(cid, 0) - active.get(cid, 0)), back.get(cid, 0)) for cid in started}
