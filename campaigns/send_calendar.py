"""The send calendar: what goes out on each day of a month, with the expected recipients and cost per day.

`sends_between(session, window, estimate_of)` is the one function the calendar page, the dashboard's "next
sends" and the API read. It lists the sends of each day from several *sources*, each a function
`(session, window, estimate_of) -> Iterable[PlannedSend]` in SEND_SOURCES:

- `scheduled_campaign_sends`: every campaign with a schedule that will fire — scheduled, running with
  firings left, or waiting for approval (shown as such) — on each day its schedule fires in the window:
  a time, a cron rule, each contact's date (birthdays, important dates, date custom fields), a holiday;
- `past_runs`: what already went out in the window, counted from the outbox rows.

Extension point: journeys (issue 16, `campaigns/journeys/`, built on another branch) add their steps by
appending one more source that yields PlannedSend rows with `source="journey"` and their own `link`;
nothing else here, and nothing on the page, changes.

Why it is fast enough for a month of twenty campaigns over tens of thousands of contacts: the expensive
part — who a campaign reaches and what one message costs — is counted once per campaign by the pre-send
estimate (campaigns/estimate.py: one GROUP BY), never once per day. A date rule's estimate already holds its
reachable contacts counted by month and day of their date (campaigns/estimate_occasions.py, one more GROUP
BY), so each day of the month is a dictionary lookup through Schedule.dates_greeted_on. Firings come from the
schedule alone (campaigns/schedules.py), a pure function of time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from audiences import audience_version
from campaigns.estimate import Estimate
from campaigns.firing import firings_until
from campaigns.models import Campaign, Message, RatePlan, Run, Template
from campaigns.schedules import schedule_of

# Campaigns whose schedule will fire (pending_approval: once approved; shown as waiting).
WILL_FIRE = ("pending_approval", "scheduled", "running")
# A cron rule firing every minute would list 40,000 sends a month: each campaign lists at most this many.
MAX_FIRINGS_PER_CAMPAIGN = 800
# Outbox rows that were, or are being, sent: what a past run's "recipients" counts.
SENT_STATUSES = ("pending", "sending", "sent", "delivered", "failed", "unknown")


@dataclass(frozen=True)
class Window:
    """The days a calendar shows, in a zone, and the moment that divides what went out from what will."""

    first: date
    last: date  # inclusive
    zone: str
    now: datetime
    currency: str = "USD"  # the workspace's: what a past run's cost is in when its rows name none

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first, time(0), ZoneInfo(self.zone))

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), ZoneInfo(self.zone))

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class PlannedSend:
    """One send on one day: a campaign's firing (or a journey step's, later), expected or done."""

    day: date  # the local day it is for (the schedule's own zone)
    at: datetime  # when it fires (UTC)
    source: str  # "campaign", "sent" (a past run); journeys add "journey"
    link: tuple[str, int]  # what the entry opens: ("campaign", id)
    name: str
    channel: str
    kind: str  # at, recurring, date_rule, holiday, broadcast
    status: str  # the campaign's status, or "sent" for a past run
    recipients: int
    cost: Decimal
    currency: str
    done: bool = False  # a past run: counted from the outbox, not estimated


@dataclass(frozen=True)
class CalendarDay:
    day: date
    sends: tuple[PlannedSend, ...]

    @property
    def recipients(self) -> int:
        return sum(s.recipients for s in self.sends)

    def cost(self) -> dict[str, Decimal]:
        """The day's cost per currency (a rate plan may price in another)."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for send in self.sends:
            totals[send.currency] += send.cost
        return dict(totals)


EstimateOf = Callable[[Campaign], Estimate]
SendSource = Callable[[Session, Window, EstimateOf], Iterable[PlannedSend]]


def scheduled_campaign_sends(session: Session, window: Window, estimate_of: EstimateOf) -> Iterable[PlannedSend]:
    """Each firing in the window of every campaign whose schedule will fire, with the estimate's recipients and
    cost (a date rule: those whose date falls on that day). Firings before window.now are not listed here:
    what fired is a past run."""
    candidates = session.scalars(select(Campaign).where(Campaign.status.in_(WILL_FIRE), Campaign.schedule.is_not(None))
                                 .order_by(Campaign.id))
    for campaign in candidates:
        schedule = schedule_of(campaign.schedule)
        if schedule is None:
            continue
        # From a day early (the schedule's zone may lead the calendar's), or from now when the schedule counts
        # its runs: firings between now and the window use up max_runs too.
        after = window.now if schedule.max_runs is not None else max(window.now, window.starts_at - timedelta(days=1))
        firings = firings_until(session, campaign, now=after, until=window.ends_at + timedelta(days=1),
                                limit=MAX_FIRINGS_PER_CAMPAIGN)
        firings = [f for f in firings if window.first <= schedule.day_of(f) <= window.last]
        if not firings:
            continue
        estimate = estimate_of(campaign)
        plan = estimate.occasions
        for firing in firings:
            day = schedule.day_of(firing)
            if schedule.kind == "date_rule" and plan is not None:
                recipients = plan.recipients_on(schedule, day)
                cost = plan.cost_of(recipients)
            else:
                recipients, cost = estimate.sendable, estimate.cost
            if schedule.kind == "date_rule" and not recipients:
                continue  # nobody's day: a date rule fires daily, but a day without greetings is no send
            yield PlannedSend(day, firing, "campaign", ("campaign", campaign.id), campaign.name, campaign.channel,
                              schedule.kind, campaign.status, recipients, cost, estimate.currency)


def past_runs(session: Session, window: Window, estimate_of: EstimateOf) -> Iterable[PlannedSend]:
    """Runs that fired in the window before now, with the rows they sent and what those cost: one grouped query."""
    del estimate_of  # what went out is counted, not estimated
    fired = func.coalesce(Run.fired_at, Run.started_at)
    sent = func.sum(case((Message.status.in_(SENT_STATUSES), 1), else_=0))
    query = (select(Run.id, fired, Campaign.id, Campaign.name, Campaign.channel, Campaign.kind, sent,
                    func.coalesce(func.sum(Message.cost), 0), func.max(Message.currency))
             .join(Campaign, Campaign.id == Run.campaign_id).outerjoin(Message, Message.run_id == Run.id)
             .where(fired >= window.starts_at, fired < min(window.ends_at, window.now))
             .group_by(Run.id, fired, Campaign.id, Campaign.name, Campaign.channel, Campaign.kind).order_by(fired))
    zone = ZoneInfo(window.zone)
    for _run_id, at, campaign_id, name, channel, kind, recipients, cost, currency in session.execute(query):
        at = _aware(at)
        yield PlannedSend(at.astimezone(zone).date(), at, "sent", ("campaign", campaign_id), name, channel, kind,
                          "sent", int(recipients or 0), Decimal(str(cost or 0)), currency or window.currency,
                          done=True)


class EstimateCache:
    """Estimates kept between requests: the calendar, the dashboard and the next month's page ask for the same
    campaigns' figures again and again, and one estimate is a few passes over the audience.

    An entry is found only while nothing it counted has changed — its key holds the data's fingerprint
    (data_version: contacts, consents, lists, segments, sent messages for the caps, rate plans, templates)
    and what the estimate reads of the campaign (estimate_signature) — and for at most `ttl`, since the
    frequency cap's window and the rate plans' free quota move with time. Thread-safe enough for a web
    process: a race computes one estimate twice, never a wrong one."""

    def __init__(self, *, ttl: timedelta = timedelta(minutes=5), size: int = 512) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[tuple[Any, ...], tuple[datetime, Estimate]] = {}

    def get(self, key: tuple[Any, ...], now: datetime) -> Estimate | None:
        found = self._entries.get(key)
        if found is None or found[0] <= now:
            return None
        return found[1]

    def put(self, key: tuple[Any, ...], estimate: Estimate, now: datetime) -> None:
        if len(self._entries) >= self.size:  # old fingerprints are never asked for again: start afresh
            self._entries.clear()
        self._entries[key] = (now + self.ttl, estimate)


def data_version(session: Session) -> tuple[Any, ...]:
    """Everything an estimate reads besides the campaign, as one fingerprint (see EstimateCache)."""
    parts = [select(func.max(Message.id)), select(func.count(RatePlan.id)), select(func.max(RatePlan.id)),
             select(func.max(Template.updated_at))]
    return audience_version(session) + tuple(session.execute(select(*(p.scalar_subquery() for p in parts))).one())


def estimate_signature(campaign: Campaign) -> tuple[Any, ...]:
    """What a campaign's estimate depends on. Campaigns with the same signature share one estimate: same
    audience, exclusions, template and price; a date rule's counts by day of the year from the same date.
    The holdout picks recipients by the campaign's id, so a campaign with one is its own."""
    schedule = schedule_of(campaign.schedule)
    by_date = schedule.kind == "date_rule" if schedule else False
    return (campaign.channel, campaign.list_id, campaign.segment_id,
            json.dumps(campaign.approved_segment_rules, sort_keys=True), campaign.operational, campaign.ignore_caps,
            campaign.cap_messages, campaign.cap_days, campaign.holdout_percent,
            campaign.id if campaign.holdout_percent else 0, campaign.template_id, campaign.sender,
            schedule.date_source if by_date and schedule else None, "occasions" if by_date else "blast")


# The extension point: journeys append their source here (see the module docstring).
SEND_SOURCES: list[SendSource] = [past_runs, scheduled_campaign_sends]


def sends_between(session: Session, window: Window, estimate_of: EstimateOf, *,
                  sources: Iterable[SendSource] | None = None, cache: EstimateCache | None = None) -> list[CalendarDay]:
    """Every day of the window with its sends from every source, in time order (days without sends included).

    `estimate_of(campaign)` is the campaign's pre-send estimate (the caller supplies its prices, rates and
    caps from the configuration; campaigns/estimate.py estimate_campaign); `cache` keeps estimates between
    calls (EstimateCache). Reads only."""
    by_day: dict[date, list[PlannedSend]] = defaultdict(list)
    cached: dict[tuple[Any, ...], Estimate] = {}
    version: list[tuple[Any, ...]] = []

    def once(campaign: Campaign) -> Estimate:
        # A campaign firing on many days is estimated once, campaigns with one signature share it, and
        # `cache` keeps it for the next request while the data is unchanged.
        signature = estimate_signature(campaign)
        if signature not in cached:
            if cache is not None and not version:
                version.append(data_version(session))
            key = (*version[0], *signature, window.now.date()) if cache is not None else signature
            found = cache.get(key, window.now) if cache is not None else None
            if found is None:
                found = estimate_of(campaign)
                if cache is not None:
                    cache.put(key, found, window.now)
            cached[signature] = found
        return cached[signature]

    for source in SEND_SOURCES if sources is None else sources:
        for send in source(session, window, once):
            if window.first <= send.day <= window.last:
                by_day[send.day].append(send)
    return [CalendarDay(day, tuple(sorted(by_day.get(day, ()), key=lambda s: (s.at, s.name))))
            for day in window.days()]


def next_sends(session: Session, *, now: datetime, zone: str, estimate_of: EstimateOf, count: int = 5,
               days_ahead: int = 62, cache: EstimateCache | None = None) -> list[PlannedSend]:
    """The next `count` sends from now (the dashboard's "what goes out next"), looking `days_ahead` days on."""
    today = now.astimezone(ZoneInfo(zone)).date()
    window = Window(today, today + timedelta(days=days_ahead), zone, now)
    upcoming = [s for day in sends_between(session, window, estimate_of, cache=cache) for s in day.sends
                if not s.done and s.at >= now]
    return sorted(upcoming, key=lambda s: (s.at, s.name))[:count]


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back COALESCE of two timestamps as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
