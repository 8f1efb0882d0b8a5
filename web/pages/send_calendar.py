"""The calendar page: every send of a month — scheduled, recurring, birthday and holiday campaigns, and what
already went out — with the expected recipients and cost per day. The sends come from
campaigns/send_calendar.py sends_between (where journeys will add theirs); this module lays them on weeks,
in the reader's language (month and weekday names from Babel's locale data)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_day_names
from flask import Blueprint, current_app, render_template, request
from flask_babel import get_locale

from campaigns.send_calendar import EstimateCache, Window, next_sends, sends_between
from web.db import get_session
from web.pages.campaign_controls import calendar_estimate
from web.pages.context import config, now

bp = Blueprint("send_calendar", __name__)


def estimate_cache() -> EstimateCache:
    """One cache of estimates per app, shared by the calendar and the dashboard."""
    return current_app.extensions.setdefault("herald.estimate_cache", EstimateCache())


def upcoming_sends(count: int = 5) -> list[Any]:
    """The next `count` sends from now, for the dashboard."""
    return next_sends(get_session(), now=now(), zone=config().default_timezone, estimate_of=calendar_estimate,
                      count=count, cache=estimate_cache())


def _month(value: str | None, today: date) -> date:
    """The first day of the month asked for ("2027-03"), or of this month for anything else."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            return date(year, month, 1)
    except ValueError:
        pass
    return today.replace(day=1)


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@bp.get("/calendar")
def month():
    settings = config()
    zone = settings.default_timezone
    today = now().astimezone(ZoneInfo(zone)).date()
    first = _month(request.args.get("month"), today)
    last = _shift(first, 1) - timedelta(days=1)
    days = sends_between(get_session(), Window(first, last, zone, now(), settings.currency), calendar_estimate,
                         cache=estimate_cache())
    locale = get_locale()
    # Weeks start on the locale's first day (Monday in zh_CN and en_GB, Sunday in en_US).
    week_start = locale.first_week_day
    weekday_names = get_day_names("abbreviated", locale=locale)
    lead = (first.weekday() - week_start) % 7
    cells: list[Any] = [None] * lead + days
    cells += [None] * (-len(cells) % 7)
    weeks = [cells[n:n + 7] for n in range(0, len(cells), 7)]
    totals: dict[str, Any] = {}
    for day in days:
        for currency, cost in day.cost().items():
            totals[currency] = totals.get(currency, 0) + cost
    return render_template(
        "calendar/month.html", weeks=weeks, today=today, first=first,
        title=format_skeleton("yMMMM", first, locale=locale),
        weekdays=[weekday_names[(week_start + n) % 7] for n in range(7)],
        previous=_shift(first, -1).strftime("%Y-%m"), following=_shift(first, 1).strftime("%Y-%m"),
        this_month=today.strftime("%Y-%m"), zone=zone, currency=settings.currency,
        sends=sum(len(day.sends) for day in days), recipients=sum(day.recipients for day in days), totals=totals)
