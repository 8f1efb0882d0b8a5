"""When a campaign sends: its Schedule, and the firings that schedule produces.

A campaign without a schedule sends when someone presses Send now. With one it is one of:

- ``at``: a broadcast at a local time on a day, in the sender's zone or in each recipient's own;
- ``recurring``: a 5-field cron rule in the sender's zone, until an end date or a number of runs;
- ``date_rule``: every day, to each contact whose date (birthday, an important date, a custom date
  field) falls on that day, shifted by an offset ("3 days before renewal"), at a local time;
- ``holiday``: on a holiday of a country's calendar (the `holidays` package; lunar dates resolved),
  every year, at a local time.

A *firing* is the instant a run is materialised. For a time in each recipient's zone that is the time
in the earliest zone on Earth (UTC+14), so every recipient is still ahead and gets a pending message
due at their own local time (campaigns/audience/send_time.py). Firings are computed here from the schedule
alone — a pure function of (schedule, after) like APScheduler's get_next_fire_time — so the campaign
page can list the next ten and the scheduler needs no state of its own (campaigns/firing.py).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from audiences import check_date_source
from campaigns.audience.send_time import EARLIEST_ZONE, QuietHours, Timing, local_instant, parse_time_of_day, zone_named
from campaigns.holiday_calendar import (
    HOLIDAY_YEARS_AHEAD,
    check_country,
    check_holiday,
    holiday_date,
    resolve_holiday,
)
from core.config import Config
from core.errors import Invalid

KINDS = ("at", "recurring", "date_rule", "holiday")
FEB29_CHOICES = ("feb28", "mar1")
# Cron day-of-week numbers as cron counts them (0 and 7 are Sunday). APScheduler's own numbering starts
# at Monday = 0, so "1" would silently mean Tuesday there; names mean the same to both.
_CRON_WEEKDAYS = {"0": "sun", "1": "mon", "2": "tue", "3": "wed", "4": "thu", "5": "fri", "6": "sat", "7": "sun"}
_DAY_NUMBER = re.compile(r"(?<![/\d])\d+")


@dataclass(frozen=True)
class ScheduleDefaults:
    """What config.toml says when a campaign does not: the zones, the quiet hours, 29 February, the grace."""

    default_zone: str = "UTC"  # [app] default_timezone: the sender's zone, and contacts' without one
    quiet_hours: str = ""  # [campaigns] quiet_hours, "21:00-08:00" or "" (none)
    feb29: str = "feb28"  # [campaigns] feb29_birthdays
    grace_seconds: int = 12 * 3600  # [scheduler] misfire_grace_seconds

    @classmethod
    def from_config(cls, config: Config) -> ScheduleDefaults:
        return cls(default_zone=config.default_timezone, quiet_hours=config.quiet_hours,
                   feb29=config.feb29_birthdays, grace_seconds=config.misfire_grace_seconds)


@dataclass(frozen=True)
class Schedule:
    """A campaign's schedule, validated. Stored on the campaign as `to_dict()` (campaigns.schedule)."""

    kind: str
    time_zone: str  # the sender's zone: `at` and `time_of_day` read in it unless per_recipient
    per_recipient: bool = False  # the local time is each recipient's own
    quiet_hours: str | None = None  # None: the configured default; "off"; or "21:00-08:00"
    send_at: str | None = None  # at: "2027-03-14T09:00", local
    cron: str | None = None  # recurring: "0 10 * * 1" (Mondays 10:00)
    end_date: str | None = None  # recurring: last day (inclusive), local
    max_runs: int | None = None  # recurring: at most this many runs
    time_of_day: str | None = None  # date_rule, holiday: "09:00"
    date_source: str | None = None  # date_rule: birthday | date:<kind> | attribute:<name>
    offset_days: int = 0  # date_rule: -3 = three days before the date
    feb29: str | None = None  # date_rule: feb28 | mar1 | None (configured default)
    holiday: str | None = None  # holiday: its name in the calendar, e.g. "Chinese New Year (Spring Festival)"
    country: str | None = None  # holiday: ISO country code of the calendar, e.g. CN

    # ------------------------------------------------------------ reading and writing
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, today: date, defaults: ScheduleDefaults | None = None) -> Schedule:
        """Validate a schedule as the form and the API send it; raise Invalid naming the field and the fix.

        `today` is the year holiday names are offered from (this year's and next year's calendar).
        """
        defaults = defaults or ScheduleDefaults()
        if not isinstance(data, dict):
            raise Invalid("schedule must be an object with a kind, e.g. {\"kind\": \"at\", ...}", field="schedule")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise Invalid(f"schedule has unknown fields: {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                          field="schedule")
        kind = data.get("kind")
        if kind not in KINDS:
            raise Invalid(f'schedule kind "{kind}" is not known; use one of: {", ".join(KINDS)}', field="kind")
        zone = data.get("time_zone") or defaults.default_zone
        if not isinstance(zone, str):
            raise Invalid(f"time_zone is {zone!r}; write a zone name such as Asia/Shanghai", field="time_zone")
        zone = zone.strip()
        zone_named(zone, field="time_zone")
        quiet = data.get("quiet_hours")
        if quiet is not None:
            parsed = QuietHours.parse(str(quiet))
            quiet = str(parsed) if parsed else "off"
        per_recipient = data.get("per_recipient", False)
        if not isinstance(per_recipient, bool):
            raise Invalid(f"per_recipient is {per_recipient!r}; use true (each recipient's zone) or false (the "
                          "sender's)", field="per_recipient")
        values: dict[str, Any] = {"kind": kind, "time_zone": zone, "per_recipient": per_recipient,
                                  "quiet_hours": quiet}
        if kind == "at":
            values["send_at"] = _check_local_datetime(data.get("send_at"))
        elif kind == "recurring":
            values["cron"] = " ".join(str(data.get("cron") or "").split())
            cron_trigger(values["cron"], zone)
            values["end_date"] = _check_date(data.get("end_date"), "end_date") if data.get("end_date") else None
            values["max_runs"] = _check_int(data.get("max_runs"), "max_runs", 1, 100_000) \
                if data.get("max_runs") not in (None, "") else None
            if values["end_date"] is None and values["max_runs"] is None:
                raise Invalid("a recurring campaign needs an end: a last day, a number of runs, or both",
                              field="end_date")
            values["per_recipient"] = False  # each firing sends at once; cron reads in the sender's zone
        else:
            values["time_of_day"] = parse_time_of_day(str(data.get("time_of_day") or ""), field="time_of_day") \
                .strftime("%H:%M")
            if kind == "date_rule":
                values["date_source"] = check_date_source(str(data.get("date_source") or ""))
                values["offset_days"] = _check_int(data.get("offset_days", 0) or 0, "offset_days", -366, 366)
                feb29 = data.get("feb29") or None
                if feb29 is not None and feb29 not in FEB29_CHOICES:
                    raise Invalid(f'feb29 "{feb29}" is not known; use feb28 or mar1 (when 29 February birthdays '
                                  "are greeted in other years)", field="feb29")
                values["feb29"] = feb29
            else:
                values["country"] = str(data.get("country") or "").strip().upper()
                check_country(values["country"])
                # Typed as the reader says it (春节, 中秋节) or as stored: kept by its stored English name.
                values["holiday"] = resolve_holiday(values["country"], str(data.get("holiday") or "").strip(),
                                                    today.year)
                check_holiday(values["country"], values["holiday"], today.year)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    # ------------------------------------------------------------ what it means
    @property
    def repeats(self) -> bool:
        return self.kind != "at"

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def fire_zone(self) -> ZoneInfo:
        """The zone whose clock the firings follow: the earliest zone when each recipient's clock counts."""
        return ZoneInfo(EARLIEST_ZONE) if self.per_recipient else self.zone()

    def local_time(self) -> time | None:
        if self.kind == "at":
            return datetime.fromisoformat(str(self.send_at)).time()
        if self.time_of_day:
            return parse_time_of_day(self.time_of_day, field="time_of_day")
        return None

    def quiet(self, defaults: ScheduleDefaults) -> QuietHours | None:
        return QuietHours.parse(defaults.quiet_hours if self.quiet_hours is None else self.quiet_hours)

    def fire_at(self, day: date) -> datetime:
        """The firing for `day` (at, date_rule, holiday): the local time in the fire zone, as UTC."""
        local = self.local_time()
        assert local is not None
        return local_instant(day, local, self.fire_zone())

    def day_of(self, firing: datetime) -> date:
        """The day a firing is for (the inverse of fire_at)."""
        return firing.astimezone(self.fire_zone()).date()

    def dates_greeted_on(self, day: date, default_feb29: str) -> tuple[date, list[date]]:
        """A date rule's firing on `day` greets the contacts whose date is the target (`day` shifted back by
        the offset: -3 fires three days before) — and in a year without 29 February, on 28 February or
        1 March (the rule's feb29, else the configured one), those born on it. Returns (target, the dates
        whose month and day match)."""
        target = day - timedelta(days=self.offset_days)
        matching = [target]
        feb29 = self.feb29 or default_feb29
        if not calendar.isleap(target.year):
            if (feb29 == "feb28" and (target.month, target.day) == (2, 28)) or \
                    (feb29 == "mar1" and (target.month, target.day) == (3, 1)):
                matching.append(date(2000, 2, 29))  # 29 February birthdays, in a year without one
        return target, matching

    def firings(self, after: datetime) -> Iterator[datetime]:
        """Every firing strictly after `after`, in order (endless for date rules; bounded otherwise)."""
        if self.kind == "at":
            instant = self.fire_at(datetime.fromisoformat(str(self.send_at)).date())
            if instant > after:
                yield instant
        elif self.kind == "recurring":
            yield from self._cron_firings(after)
        elif self.kind == "date_rule":
            day = after.astimezone(self.fire_zone()).date() - timedelta(days=1)
            while True:
                if (instant := self.fire_at(day)) > after:
                    yield instant
                day += timedelta(days=1)
        else:
            first_year = after.astimezone(self.fire_zone()).year
            for year in range(first_year, first_year + HOLIDAY_YEARS_AHEAD + 1):
                day = holiday_date(str(self.country), str(self.holiday), year)
                if day is not None and (instant := self.fire_at(day)) > after:
                    yield instant

    def _cron_firings(self, after: datetime) -> Iterator[datetime]:
        """The cron rule's firings after `after`, with the DST edges decided as for every local time here.

        APScheduler's CronTrigger fires a wall time the clocks skip at the old offset (02:30 -> 03:30)
        and a repeated one twice, and asked just after the second it can answer that same instant
        again. Each answer is taken as a wall time and re-read with local_instant (a skipped minute
        moves to the next valid one, a repeated one is the first occurrence); only strictly later
        instants are yielded, so the sequence always advances.
        """
        zone = self.zone()
        trigger = cron_trigger(str(self.cron), self.time_zone, end_date=self.end_date)
        last = after
        moment = after.astimezone(UTC) + timedelta(seconds=1)  # cron has whole seconds: strictly after
        while (raw := trigger.get_next_fire_time(None, moment)) is not None:
            wall = raw.replace(tzinfo=None)
            instant = local_instant(wall.date(), wall.time(), zone)
            if instant > last:
                yield instant
                last = instant
            # In UTC: arithmetic on a local datetime drops its fold, and 01:00 EST would become 01:00 EDT.
            moment = max(moment + timedelta(minutes=1), raw.astimezone(UTC) + timedelta(seconds=1))

    def next_firings(self, after: datetime, count: int = 10) -> list[datetime]:
        found: list[datetime] = []
        for instant in self.firings(after):
            found.append(instant)
            if len(found) >= count:
                break
        return found

    def describe(self) -> str:
        """One line for logs and notes (the pages describe it in the reader's language)."""
        zone = "each recipient's time zone" if self.per_recipient else self.time_zone
        if self.kind == "at":
            return f"at {self.send_at} in {zone}"
        if self.kind == "recurring":
            ends = [f"until {self.end_date}" if self.end_date else "", f"at most {self.max_runs} runs"
                    if self.max_runs else ""]
            return f"cron {self.cron!r} in {self.time_zone}, " + " and ".join(e for e in ends if e)
        if self.kind == "date_rule":
            shift = f"{abs(self.offset_days)} days {'before' if self.offset_days < 0 else 'after'} " \
                if self.offset_days else "on "
            return f"{shift}{self.date_source} at {self.time_of_day} in {zone}"
        return f"on {self.holiday} ({self.country}) at {self.time_of_day} in {zone}"


def send_now_timing(campaign: Any, defaults: ScheduleDefaults) -> Timing:
    """Timing for Send now: everyone at once, but not inside their quiet hours (the campaign's, else the
    configured ones); an event notice ignores quiet hours (it is urgent by definition)."""
    schedule = schedule_of(campaign.schedule)
    if campaign.kind == "event_notice":
        quiet = None
    elif schedule is not None:
        quiet = schedule.quiet(defaults)
    else:
        quiet = QuietHours.parse(defaults.quiet_hours)
    return Timing(default_zone=defaults.default_zone, quiet=quiet)


def schedule_of(stored: dict[str, Any] | None) -> Schedule | None:
    """A campaign's stored schedule (campaigns.schedule), or None for "when someone presses Send now"."""
    if not stored:
        return None
    return Schedule(**{k: v for k, v in stored.items() if k in Schedule.__dataclass_fields__})


# ------------------------------------------------------------------ cron
def cron_trigger(expression: str, zone: str, *, end_date: str | None = None) -> CronTrigger:
    """An APScheduler CronTrigger for a standard 5-field cron rule (minute hour day month weekday).

    Weekday numbers are read as cron reads them (0 or 7 Sunday, 1 Monday) and handed on as names,
    since APScheduler counts from Monday = 0. `end_date` is the last local day, inclusive.
    Raises Invalid naming the field and the form.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise Invalid(f'cron rule "{expression}" has {len(fields)} fields; it needs 5: minute hour day month '
                      'weekday, e.g. "0 10 * * 1" for every Monday at 10:00', field="cron")
    minute, hour, day, month, weekday = fields
    weekday = _DAY_NUMBER.sub(lambda m: _CRON_WEEKDAYS.get(m.group(0), m.group(0)), weekday)
    end = None
    if end_date:
        end = datetime.combine(date.fromisoformat(end_date), time(23, 59, 59))
    try:
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=zone,
                           end_date=end)
    except ValueError as exc:
        raise Invalid(f'cron rule "{expression}" is not valid: {exc}; e.g. "0 10 * * 1" for every Monday at 10:00',
                      field="cron") from None


# ------------------------------------------------------------------ small checks
def _check_local_datetime(value: Any) -> str:
    if not str(value or "").strip():  # the form's empty field arrives as None or "": say what is missing
        raise Invalid("the date and time to send is missing; give one, e.g. 2027-03-14T09:00", field="send_at")
    try:
        moment = datetime.fromisoformat(str(value or "").strip())
    except ValueError:
        raise Invalid(f'"{value}" is not a date and time; write it as YYYY-MM-DDTHH:MM, e.g. 2027-03-14T09:00',
                      field="send_at") from None
    if moment.tzinfo is not None:
        raise Invalid(f'"{value}" carries a UTC offset; give the local time without one and choose the zone '
                      "(the sender's or each recipient's)", field="send_at")
    return moment.strftime("%Y-%m-%dT%H:%M")


def _check_date(value: Any, name: str) -> str:
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise Invalid(f'"{value}" is not a date; write it as YYYY-MM-DD, e.g. 2027-06-30', field=name) from None


def _check_int(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Invalid(f'"{value}" is not a whole number', field=name) from None
    if not low <= number <= high:
        raise Invalid(f"{name.replace('_', ' ')} is {number}; use {low} to {high}", field=name)
    return number
