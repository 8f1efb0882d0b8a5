"""The estimate of a campaign that fires on occasions: who is greeted when, and what it costs a month.

A birthday, anniversary or holiday campaign is not one blast to its audience: a date rule greets each
contact on their own day, a holiday campaign fires once a year. Its estimate is a calendar — the next
30 days of firings with how many recipients each, a few of their names, and the cost — and the cost per
month over the next year. The reachable audience (after consent, the suppression list, the cap and the
holdout, as the one-blast estimate counts it) is counted by month and day of each contact's date in one
GROUP BY (audiences.contact_date_keys), then laid on the schedule's firings here, with the same rules
firing uses (the offset, 29 February: Schedule.dates_greeted_on). The names come from a second query
that keeps the first few contacts of each day (ROW_NUMBER, on both databases).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audiences import contact_date_keys, contacts_by_id, month_day_key, month_day_keys
from campaigns.results.report_numbers import money
from campaigns.schedules import Schedule

DAYS_AHEAD = 30  # the firings listed one by one
MONTHS_AHEAD = 12  # the cost per month
NAMES_PER_DAY = 3


@dataclass(frozen=True)
class Occasion:
    """One firing in the next DAYS_AHEAD days: its local day and time, who it greets, what it costs."""

    day: date
    fire_at: datetime  # when the run is made (UTC); each recipient's own time_of_day when per_recipient
    recipients: int
    names: tuple[str, ...]  # the first NAMES_PER_DAY of them
    cost: Decimal

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "fire_at": self.fire_at.isoformat(), "recipients": self.recipients,
                "names": list(self.names), "cost": money(self.cost, currency)}


@dataclass(frozen=True)
class MonthCost:
    month: str  # "2027-03", in the schedule's zone
    recipients: int
    cost: Decimal

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {"month": self.month, "recipients": self.recipients, "cost": money(self.cost, currency)}


@dataclass(frozen=True)
class OccasionPlan:
    """The calendar of a date-rule or holiday campaign's estimate."""

    time_of_day: str  # "09:00"
    time_zone: str  # the sender's zone, or "recipient" for each recipient's own
    occasions: tuple[Occasion, ...]  # the next DAYS_AHEAD days' firings with recipients
    months: tuple[MonthCost, ...]  # the next MONTHS_AHEAD months, from this one
    cost_per_recipient: Decimal
    greetable: int  # reachable contacts with the date (a holiday: everyone reachable)
    # A date rule's reachable contacts by month*100+day of their date, and the 29 February rule it was
    # counted with: who is greeted on any day of the year is a lookup (recipients_on), not a query.
    by_key: Mapping[int, int] = field(default_factory=dict)
    default_feb29: str = "feb28"

    @property
    def recipients(self) -> int:
        return sum(o.recipients for o in self.occasions)

    @property
    def cost(self) -> Decimal:
        return sum((o.cost for o in self.occasions), Decimal(0))

    def recipients_on(self, schedule: Schedule, day: date) -> int:
        """How many a date rule greets on `day` (its firing's local day), from the counts by month and day."""
        return sum(self.by_key.get(k, 0) for k in month_day_keys(schedule.dates_greeted_on(day, self.default_feb29)[1]))

    def cost_of(self, recipients: int) -> Decimal:
        return _cost(recipients, self.cost_per_recipient)

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {"days_ahead": DAYS_AHEAD, "time_of_day": self.time_of_day, "time_zone": self.time_zone,
                "recipients": self.recipients, "cost": money(self.cost, currency), "greetable": self.greetable,
                "cost_per_recipient": money(self.cost_per_recipient, currency),
                "occasions": [o.to_dict(currency) for o in self.occasions],
                "months": [m.to_dict(currency) for m in self.months]}


def occasion_plan(session: Session, schedule: Schedule, audience: Any, keep: Sequence[Any], *, now: datetime,
                  sendable: int, cost_per_recipient: Decimal, default_feb29: str, names: bool = True) -> OccasionPlan:
    """The next firings of `schedule` (a date rule or a holiday) with who they reach among `audience` rows that
    pass every condition in `keep` (the estimate's exclusions, negated), and the cost per month at
    `cost_per_recipient`. `sendable` is how many pass (a holiday greets them all each time). `names=False`
    leaves the occasions' names out (the send calendar counts, and the names are one more pass)."""
    horizon = now + timedelta(days=366)
    firings = []
    # The estimate's `now` is the next firing itself (campaigns.firing.planned_timing): count it in.
    for instant in schedule.firings(now - timedelta(seconds=1)):
        if instant > horizon:
            break
        firings.append(instant)
    by_key: dict[int, int] = {}
    if schedule.kind == "date_rule":
        by_key, greetable = _count_by_month_day(session, str(schedule.date_source), audience, keep)
        counts = [(f, sum(by_key.get(k, 0) for k in _keys(schedule, f, default_feb29))) for f in firings]
    else:
        counts, greetable = [(f, sendable) for f in firings], sendable
    soon = [(f, n) for f, n in counts if f <= now + timedelta(days=DAYS_AHEAD) and n]
    names = _first_names(session, schedule, audience, keep, [f for f, _ in soon], default_feb29) if names else {}
    occasions = tuple(Occasion(schedule.day_of(f), f, n, names.get(f, ()), _cost(n, cost_per_recipient))
                      for f, n in soon)
    per_month: dict[str, int] = defaultdict(int)
    for f, n in counts:
        per_month[schedule.day_of(f).strftime("%Y-%m")] += n
    first = schedule.day_of(now) if schedule.kind == "date_rule" else now.astimezone(schedule.fire_zone()).date()
    months = tuple(MonthCost(m, per_month.get(m, 0), _cost(per_month.get(m, 0), cost_per_recipient))
                   for m in _months(first, MONTHS_AHEAD))
    return OccasionPlan(str(schedule.time_of_day), "recipient" if schedule.per_recipient else schedule.time_zone,
                        occasions, months, cost_per_recipient, greetable, by_key, default_feb29)


def _keys(schedule: Schedule, firing: datetime, default_feb29: str) -> list[int]:
    _, matching = schedule.dates_greeted_on(schedule.day_of(firing), default_feb29)
    return month_day_keys(matching)


def _count_by_month_day(session: Session, source: str, audience: Any,
                        keep: Sequence[Any]) -> tuple[dict[int, int], int]:
    """({month*100+day: reachable contacts whose date falls on it}, reachable contacts with a date): one GROUP
    BY over the audience, and one count."""
    dates = contact_date_keys(source).subquery("dates")
    joined = select(dates.c.key).select_from(audience).join(dates, dates.c.contact_id == audience.c.contact_id)
    rows = session.execute(joined.with_only_columns(dates.c.key, func.count(func.distinct(dates.c.contact_id)))
                           .where(*keep).group_by(dates.c.key))
    out: dict[int, int] = defaultdict(int)
    for key, n in rows:
        if (k := month_day_key(key)) is not None:
            out[k] += n
    greetable = session.scalar(joined.with_only_columns(func.count(func.distinct(dates.c.contact_id)))
                               .where(*keep)) or 0
    return dict(out), greetable


def _first_names(session: Session, schedule: Schedule, audience: Any, keep: Sequence[Any],
                 firings: list[datetime], default_feb29: str) -> dict[datetime, tuple[str, ...]]:
    """{firing: the names of its first NAMES_PER_DAY recipients (by contact id)}."""
    if not firings:
        return {}
    if schedule.kind != "date_rule":  # a holiday greets the same people each time
        ids = list(session.scalars(select(audience.c.contact_id).where(*keep).order_by(audience.c.contact_id)
                                   .limit(NAMES_PER_DAY)))
        shown = _names(session, ids)
        return {f: tuple(shown[i] for i in ids if i in shown) for f in firings}
    wanted = {f: _keys(schedule, f, default_feb29) for f in firings}
    dates = contact_date_keys(str(schedule.date_source)).subquery("dates")
    rank = func.row_number().over(partition_by=dates.c.key, order_by=dates.c.contact_id).label("rank")
    ranked = (select(dates.c.key, dates.c.contact_id, rank).select_from(audience)
              .join(dates, dates.c.contact_id == audience.c.contact_id).where(*keep)
              .subquery("ranked"))
    first: dict[int, list[int]] = defaultdict(list)
    for key, contact_id in session.execute(select(ranked.c.key, ranked.c.contact_id)
                                           .where(ranked.c.rank <= NAMES_PER_DAY)
                                           .order_by(ranked.c.key, ranked.c.contact_id)):
        if (k := month_day_key(key)) is not None and contact_id not in first[k]:
            first[k].append(contact_id)
    shown = _names(session, [i for ids in first.values() for i in ids])
    out = {}
    for f, keys in wanted.items():
        ids = [i for k in keys for i in first.get(k, [])][:NAMES_PER_DAY]
        out[f] = tuple(shown[i] for i in ids if i in shown)
    return out


def _names(session: Session, ids: list[int]) -> dict[int, str]:
    return {cid: contact.name or contact.email or contact.phone or f"#{cid}"
            for cid, contact in contacts_by_id(session, ids).items()}


def _cost(recipients: int, per_recipient: Decimal) -> Decimal:
    return (per_recipient * recipients).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _months(first: date, count: int) -> list[str]:
    year, month = first.year, first.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
