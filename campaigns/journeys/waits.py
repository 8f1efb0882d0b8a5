"""When a waiting enrolment wakes: after a duration, or then at a time of day in the contact's own zone
(optionally only on given weekdays) — as SQL, computed once per distinct zone of the batch.

As campaigns/audience/send_time.py does for send times, the instants are worked out in Python for the few
zones the marked contacts have, and handed to the database as CASE zone WHEN … THEN … END, so a wait over a
million enrolments is still one UPDATE. DST edges are send_time's: a skipped local time moves to the next
minute that exists, a repeated one takes its first occurrence. Contacts without a zone (or with one tzdata
does not know) use [app] default_timezone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, literal, select
from sqlalchemy.orm import Session

from audiences import Contact
from campaigns.audience.send_time import local_instant, parse_time_of_day
from campaigns.journeys.definition import duration
from campaigns.journeys.models import Enrolment
from core.db import UTCDateTime


def wake_at(options: Mapping[str, Any], zone: ZoneInfo, now: datetime) -> datetime:
    """The wake time of a wait step's `options` for a contact in `zone`: now + the duration, then the next
    `at` (HH:MM local) on one of `weekdays` (0 = Monday) at or after that."""
    earliest = now + duration(options, "wait")
    if options.get("at") is None:
        return earliest
    at = parse_time_of_day(options["at"], field="at")
    weekdays = set(options.get("weekdays") or range(7))
    day = earliest.astimezone(zone).date()
    for _ in range(9):  # a week and the day the clocks skip cannot hide every allowed day
        instant = local_instant(day, at, zone)
        if instant >= earliest and day.weekday() in weekdays:
            return instant
        day += timedelta(days=1)
    raise AssertionError("no allowed day within nine days")  # pragma: no cover - weekdays is never empty


def wake_sql(session: Session, options: Mapping[str, Any], *, tick: str, default_zone: str, now: datetime) -> Any:
    """SQL for each marked enrolment's wake time (a constant when it does not depend on the zone)."""
    if options.get("at") is None:
        return literal(wake_at(options, ZoneInfo(default_zone), now), UTCDateTime())
    zone_of = select(Contact.time_zone).where(Contact.id == Enrolment.contact_id).scalar_subquery()
    zones = session.scalars(select(Contact.time_zone).distinct()
                            .where(Contact.id.in_(select(Enrolment.contact_id).where(Enrolment.tick == tick)))).all()
    default = wake_at(options, ZoneInfo(default_zone), now)
    branches = []
    for name in sorted(z for z in zones if z):
        try:
            instant = wake_at(options, ZoneInfo(name), now)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        if instant != default:
            branches.append((zone_of == name, literal(instant, UTCDateTime())))
    return case(*branches, else_=literal(default, UTCDateTime())) if branches else literal(default, UTCDateTime())
