"""When each recipient is due: a local time of day in a zone, DST edges, quiet hours, as one SQL CASE.

"09:00 on 14 March" means a different UTC instant in every time zone. The instants are computed here,
in Python, once per distinct zone of the audience (a few hundred at most, however many contacts), and
handed to the database as `CASE audience.time_zone WHEN 'Asia/Shanghai' THEN … END`, so the run is
still materialised by one INSERT … SELECT (DESIGN §3, §7).

DST edges, decided once for every caller:
- a local time that does not exist (the clocks spring forward over it) moves to the next minute that
  does: 02:30 on the spring-forward night in New York is sent at 03:00;
- a local time that happens twice (the clocks fall back) takes the first occurrence (fold=0).
Quiet hours are recipient-local too: an instant inside the window moves to the window's end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, literal, select
from sqlalchemy.orm import Session

from core.db import UTCDateTime
from core.errors import Invalid

# The earliest zone on Earth (UTC+14): a day starts here first, so a run materialised at the start of
# its day here is early for every recipient, whose own 09:00 is then still ahead.
EARLIEST_ZONE = "Pacific/Kiritimati"

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Longest a local clock ever jumps forward (Samoa skipped a whole day in 2011); bounds the search below.
_LONGEST_GAP = timedelta(days=1, hours=1)


def parse_time_of_day(value: str, *, field: str) -> time:
    """"09:00" -> time(9, 0). Raises Invalid naming `field` and the expected form."""
    match = _HHMM.match((value or "").strip())
    if not match:
        raise Invalid(f'"{value}" is not a time of day; write it as HH:MM on a 24-hour clock, e.g. 09:00',
                      field=field)
    return time(int(match.group(1)), int(match.group(2)))


def zone_named(name: str, *, field: str) -> ZoneInfo:
    """The IANA zone `name`. Raises Invalid naming `field` when there is no such zone."""
    try:
        return ZoneInfo((name or "").strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f'"{name}" is not a time zone; use an IANA name such as Asia/Shanghai or America/New_York',
                      field=field) from None


def _exists(local: datetime, zone: ZoneInfo) -> bool:
    aware = local.replace(tzinfo=zone, fold=0)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone` as an aware UTC datetime; a skipped local time moves to the next valid minute,
    a repeated one takes its first occurrence."""
    local = datetime.combine(day, at)
    start = local
    while not _exists(local, zone):
        local += timedelta(minutes=1)
        if local - start > _LONGEST_GAP:  # pragma: no cover - no zone has ever skipped this much
            raise ValueError(f"{zone.key} has no valid minute after {start}")
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class QuietHours:
    """A recipient-local window (start inclusive, end exclusive) in which nothing marketing is sent.

    A window may wrap midnight (21:00–08:00). A message due inside it moves to the window's end.
    """

    start: time
    end: time

    @classmethod
    def parse(cls, value: str | None, *, field: str = "quiet_hours") -> QuietHours | None:
        """"21:00-08:00" -> QuietHours; "", "off" or None -> None (no quiet hours). Raises Invalid."""
        text = (value or "").strip().lower()
        if text in ("", "off", "none"):
            return None
        parts = [part.strip() for part in text.replace("–", "-").split("-")]
        if len(parts) != 2:
            raise Invalid(f'quiet hours "{value}" should be two times, from-until, e.g. 21:00-08:00 (or "off")',
                          field=field)
        start, end = (parse_time_of_day(part, field=field) for part in parts)
        if start == end:
            raise Invalid(f'quiet hours "{value}" start and end at the same minute; give a window such as '
                          "21:00-08:00, or \"off\"", field=field)
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def holds(self, at: time) -> bool:
        if self.start < self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end

    def shift(self, instant: datetime, zone: ZoneInfo) -> datetime:
        """`instant` itself if allowed, else the window's end (local, in `zone`) as UTC."""
        local = instant.astimezone(zone)
        if not self.holds(local.time().replace(second=0, microsecond=0)):
            return instant
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)  # late evening: allowed again tomorrow morning
        return max(instant, local_instant(day, self.end, zone))


@dataclass(frozen=True)
class Timing:
    """When a run's recipients are due.

    `at` None means now; else `at` on `day`, in the sender's zone (`per_recipient` False) or in each
    recipient's own (`per_recipient` True, contacts without a zone use `default_zone`). `quiet` applies
    to both, recipient-local. Never earlier than `now`: a late run sends at once.
    """

    default_zone: str
    sender_zone: str = "UTC"
    day: date | None = None
    at: time | None = None
    per_recipient: bool = False
    quiet: QuietHours | None = None

    def instant_in(self, zone: ZoneInfo, now: datetime) -> datetime:
        """The send time of a recipient in `zone` (quiet hours applied)."""
        if self.at is None or self.day is None:
            instant = now
        else:
            instant = local_instant(self.day, self.at, zone if self.per_recipient else ZoneInfo(self.sender_zone))
            instant = max(instant, now)
        if self.quiet is not None:
            instant = self.quiet.shift(instant, zone)
        return instant

    @property
    def varies_by_zone(self) -> bool:
        return self.per_recipient or self.quiet is not None


def zone_instants(timing: Timing, zones: Iterable[str | None], now: datetime) -> tuple[dict[str, datetime], datetime]:
    """Each named zone's send time, and the default zone's (for NULL or unknown zones)."""
    default = timing.instant_in(ZoneInfo(timing.default_zone), now)
    instants: dict[str, datetime] = {}
    for name in zones:
        if not name or name in instants:
            continue
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # a zone the database holds but tzdata does not know: the default zone's time
        instants[name] = timing.instant_in(zone, now)
    return instants, default


def not_before_sql(session: Session, audience: Any, timing: Timing, now: datetime) -> Any:
    """`not_before` for the INSERT … SELECT over `audience` (a subquery with a time_zone column).

    One SELECT DISTINCT of the audience's zones when the time differs by zone; then a CASE with one
    branch per zone whose instant differs from the default zone's.
    """
    if not timing.varies_by_zone:
        return literal(timing.instant_in(ZoneInfo(timing.default_zone), now), UTCDateTime())
    zones = session.scalars(select(audience.c.time_zone).distinct()).all()
    instants, default = zone_instants(timing, zones, now)
    branches = [(audience.c.time_zone == name, literal(instant, UTCDateTime()))
                for name, instant in sorted(instants.items()) if instant != default]
    if not branches:
        return literal(default, UTCDateTime())
    return case(*branches, else_=literal(default, UTCDateTime()))
