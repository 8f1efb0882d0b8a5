"""Send times: a local time in a zone, DST edges, quiet hours, schedules and their firings (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from campaigns.audience.send_time import QuietHours, Timing, local_instant, zone_instants
from campaigns.holiday_calendar import holiday_date, holiday_names
from campaigns.schedules import Schedule, ScheduleDefaults, cron_trigger
from core.errors import Invalid

NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_nine_in_the_morning_is_a_different_instant_in_shanghai_and_new_york():
    assert local_instant(date(2027, 1, 15), time(9), SHANGHAI) == utc(2027, 1, 15, 1)
    assert local_instant(date(2027, 1, 15), time(9), NEW_YORK) == utc(2027, 1, 15, 14)


def test_a_local_time_skipped_by_spring_forward_moves_to_the_next_valid_minute():
    # 14 March 2027, New York: 02:00 EST jumps to 03:00 EDT; 02:30 never happens.
    assert local_instant(date(2027, 3, 14), time(2, 30), NEW_YORK) == utc(2027, 3, 14, 7, 0)  # 03:00 EDT
    assert local_instant(date(2027, 3, 14), time(3, 0), NEW_YORK) == utc(2027, 3, 14, 7, 0)


def test_a_local_time_repeated_by_fall_back_takes_its_first_occurrence():
    # 7 November 2027, New York: 01:30 happens in EDT (05:30 UTC), then again in EST (06:30 UTC).
    assert local_instant(date(2027, 11, 7), time(1, 30), NEW_YORK) == utc(2027, 11, 7, 5, 30)


@pytest.mark.parametrize(("local", "expected_local"), [
    (time(20, 59), time(20, 59)),  # just before the window
    (time(21, 0), time(8, 0)),  # window start: next morning
    (time(23, 30), time(8, 0)),
    (time(3, 0), time(8, 0)),  # after midnight: the same morning
    (time(8, 0), time(8, 0)),  # window end is allowed
])
def test_quiet_hours_shift_a_send_time_to_the_windows_end_recipient_local(local, expected_local):
    quiet = QuietHours.parse("21:00-08:00")
    instant = local_instant(date(2027, 1, 15), local, SHANGHAI)
    shifted = quiet.shift(instant, SHANGHAI).astimezone(SHANGHAI)
    assert shifted.time() == expected_local
    expected_day = date(2027, 1, 16) if local >= time(21) else date(2027, 1, 15)
    assert shifted.date() == expected_day


def test_quiet_hours_ending_in_a_dst_gap_end_at_the_next_valid_minute():
    quiet = QuietHours.parse("01:00-02:30")
    instant = local_instant(date(2027, 3, 14), time(1, 15), NEW_YORK)
    assert quiet.shift(instant, NEW_YORK) == utc(2027, 3, 14, 7, 0)  # 03:00 EDT


@pytest.mark.parametrize("value", ["21:00", "25:00-08:00", "08:00-08:00", "nine-ten"])
def test_bad_quiet_hours_are_refused_naming_the_form(value):
    with pytest.raises(Invalid) as caught:
        QuietHours.parse(value)
    assert caught.value.field == "quiet_hours"


def test_quiet_hours_off_means_none():
    assert QuietHours.parse("off") is None and QuietHours.parse("") is None


def test_each_zone_gets_its_own_instant_and_unknown_zones_get_the_default():
    timing = Timing(default_zone="UTC", day=date(2027, 1, 15), at=time(9), per_recipient=True)
    now = utc(2027, 1, 14, 12)
    instants, default = zone_instants(timing, ["Asia/Shanghai", "America/New_York", None, "Mars/Olympus"], now)
    assert instants == {"Asia/Shanghai": utc(2027, 1, 15, 1), "America/New_York": utc(2027, 1, 15, 14)}
    assert default == utc(2027, 1, 15, 9)


def test_a_send_time_already_past_is_now_not_earlier():
    timing = Timing(default_zone="UTC", day=date(2027, 1, 15), at=time(9), per_recipient=True)
    now = utc(2027, 1, 15, 5)  # Shanghai's 09:00 (01:00 UTC) has passed
    instants, _default = zone_instants(timing, ["Asia/Shanghai"], now)
    assert instants["Asia/Shanghai"] == now


# ------------------------------------------------------------------ schedules
def test_a_broadcast_in_each_recipients_zone_fires_at_the_earliest_zones_time():
    schedule = Schedule.from_dict({"kind": "at", "send_at": "2027-01-15T09:00", "per_recipient": True},
                                  today=TODAY)
    # 09:00 in UTC+14 (Kiritimati) is 19:00 UTC the day before: ahead of every recipient's 09:00.
    assert schedule.next_firings(utc(2027, 1, 1)) == [utc(2027, 1, 14, 19)]
    assert schedule.day_of(utc(2027, 1, 14, 19)) == date(2027, 1, 15)


def test_cron_weekday_numbers_mean_what_cron_means():
    # Monday is 1 in cron and 0 in APScheduler: "0 10 * * 1" must be Mondays.
    schedule = Schedule.from_dict({"kind": "recurring", "cron": "0 10 * * 1", "time_zone": "Asia/Shanghai",
                                   "max_runs": 3}, today=TODAY)
    firings = schedule.next_firings(utc(2027, 3, 1))
    assert [f.astimezone(SHANGHAI).strftime("%a %H:%M") for f in firings[:3]] == ["Mon 10:00"] * 3
    assert firings[0] == utc(2027, 3, 1, 2)


def test_a_recurring_schedule_stops_after_its_end_date():
    schedule = Schedule.from_dict({"kind": "recurring", "cron": "0 10 * * *", "end_date": "2027-03-03"},
                                  today=TODAY)
    assert schedule.next_firings(utc(2027, 3, 1)) == [utc(2027, 3, 1, 10), utc(2027, 3, 2, 10), utc(2027, 3, 3, 10)]


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"kind": "weekly"}, "kind", 'kind "weekly"'),
    ({"kind": "recurring", "cron": "0 10 * *", "max_runs": 2}, "cron", "needs 5"),
    ({"kind": "recurring", "cron": "0 25 * * *", "max_runs": 2}, "cron", "not valid"),
    ({"kind": "recurring", "cron": "0 10 * * *"}, "end_date", "needs an end"),
    ({"kind": "at", "send_at": "tomorrow"}, "send_at", "YYYY-MM-DDTHH:MM"),
    ({"kind": "at", "send_at": "2027-01-15T09:00", "time_zone": "Mars/Olympus"}, "time_zone", "not a time zone"),
    ({"kind": "date_rule", "time_of_day": "09:00", "date_source": "shoe_size"}, "date_source", "date:<kind>"),
    ({"kind": "date_rule", "time_of_day": "9am", "date_source": "birthday"}, "time_of_day", "HH:MM"),
    ({"kind": "holiday", "time_of_day": "09:00", "country": "CN", "holiday": "Christmas Day"}, "holiday",
     "Mid-Autumn Festival"),
    ({"kind": "holiday", "time_of_day": "09:00", "country": "XX", "holiday": "Christmas Day"}, "country", "ISO"),
    ({"kind": "at", "send_at": "2027-01-15T09:00", "colour": "red"}, "schedule", "colour"),
    ({"kind": "at", "send_at": "2027-01-15T09:00", "per_recipient": "false"}, "per_recipient", "use true"),
])
def test_a_bad_schedule_is_refused_naming_the_field_and_the_fix(data, field, words):
    with pytest.raises(Invalid) as caught:
        Schedule.from_dict(data, today=TODAY)
    assert caught.value.field == field
    assert words in caught.value.message


def test_spring_festival_2027_is_on_the_sixth_of_february():
    assert holiday_date("CN", "Chinese New Year (Spring Festival)", 2027) == date(2027, 2, 6)
    assert holiday_date("CN", "Mid-Autumn Festival", 2027) == date(2027, 9, 15)
    assert "National Day" in holiday_names("CN", 2027)
    assert not [n for n in holiday_names("CN", 2027) if "observed" in n or "Day off" in n]


def test_a_holiday_schedule_fires_on_the_holiday_each_year_in_the_recipients_morning():
    schedule = Schedule.from_dict({"kind": "holiday", "country": "CN", "holiday": "Chinese New Year (Spring Festival)",
                                   "time_of_day": "09:00", "time_zone": "Asia/Shanghai"}, today=TODAY)
    firings = schedule.next_firings(utc(2026, 12, 1), 2)
    assert [f.astimezone(SHANGHAI) for f in firings] == [datetime(2027, 2, 6, 9, tzinfo=SHANGHAI),
                                                           datetime(2028, 1, 26, 9, tzinfo=SHANGHAI)]


def test_a_date_rule_fires_every_day_at_its_local_time():
    schedule = Schedule.from_dict({"kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00",
                                   "time_zone": "Asia/Shanghai"}, today=TODAY)
    assert schedule.next_firings(utc(2027, 3, 13, 2), 2) == [utc(2027, 3, 14, 1), utc(2027, 3, 15, 1)]


def test_a_schedule_round_trips_through_its_stored_form():
    schedule = Schedule.from_dict({"kind": "date_rule", "date_source": "date:contract_renewal", "offset_days": -3,
                                   "time_of_day": "9:30", "quiet_hours": "22:00-07:00"},
                                  today=TODAY, defaults=ScheduleDefaults(default_zone="Asia/Shanghai"))
    stored = schedule.to_dict()
    assert stored["time_zone"] == "Asia/Shanghai" and stored["time_of_day"] == "09:30"
    assert Schedule.from_dict(stored, today=TODAY) == schedule
    assert "3 days before date:contract_renewal" in schedule.describe()


def test_cron_trigger_is_an_apscheduler_trigger_in_the_senders_zone():
    trigger = cron_trigger("30 8 * * 1-5", "America/New_York")
    assert trigger.get_next_fire_time(None, utc(2027, 3, 6)) == datetime(2027, 3, 8, 8, 30, tzinfo=NEW_YORK)


def test_a_cron_rule_across_dst_edges_fires_each_wall_time_once_and_a_skipped_one_at_the_next_valid_minute():
    every_quarter = Schedule.from_dict({"kind": "recurring", "cron": "*/15 * * * *", "time_zone": "America/New_York",
                                        "max_runs": 99}, today=TODAY)
    # Fall back, 7 November 2027: 01:00–01:59 happens twice; each wall time fires once (the first time).
    fall = every_quarter.next_firings(utc(2027, 11, 7, 5, 10), 5)
    assert [f.strftime("%H:%M") for f in fall] == ["05:15", "05:30", "05:45", "07:00", "07:15"]
    # Spring forward, 14 March 2027: 02:00–02:59 does not exist; its firings become one, at 03:00 EDT.
    spring = every_quarter.next_firings(utc(2027, 3, 14, 6, 10), 5)
    assert [f.strftime("%H:%M") for f in spring] == ["06:15", "06:30", "06:45", "07:00", "07:15"]
    nightly = Schedule.from_dict({"kind": "recurring", "cron": "30 2 * * *", "time_zone": "America/New_York",
                                  "max_runs": 9}, today=TODAY)
    assert nightly.next_firings(utc(2027, 3, 13, 12), 2) == [utc(2027, 3, 14, 7, 0), utc(2027, 3, 15, 6, 30)]


def test_holiday_names_are_offered_in_the_readers_language_but_stored_in_english():
    from campaigns.holiday_calendar import holiday_labels

    labels = holiday_labels("CN", 2027, "zh_CN")
    assert labels["Chinese New Year (Spring Festival)"] == "春节"
    assert labels["Mid-Autumn Festival"] == "中秋节"
    assert holiday_labels("CN", 2027, "en_US")["National Day"] == "National Day"


def test_a_holiday_is_accepted_as_the_reader_writes_it_and_stored_by_its_calendar_name():
    """Typing 春节 or 中秋节 (the API, the CLI) works: issue 15, "Holidays are shown and accepted in the reader's
    language". The stored name stays the calendar's English one, so firings do not depend on who typed it."""
    from campaigns.holiday_calendar import resolve_holiday
    from core.errors import Invalid

    assert resolve_holiday("CN", "春节", 2027) == "Chinese New Year (Spring Festival)"
    assert resolve_holiday("CN", "中秋节", 2027) == "Mid-Autumn Festival"
    assert resolve_holiday("CN", "  mid-autumn  ", 2027) == "Mid-Autumn Festival"  # a part no other name shares
    assert resolve_holiday("CN", "National Day", 2027) == "National Day"
    assert resolve_holiday("CN", "节", 2027) == "节"  # matches several: left for the check to refuse
    schedule = Schedule.from_dict({"kind": "holiday", "country": "cn", "holiday": "春节", "time_of_day": "09:00"},
                                  today=date(2027, 1, 1))
    assert schedule.holiday == "Chinese New Year (Spring Festival)"
    with pytest.raises(Invalid, match="is not a holiday in the CN calendar"):
        Schedule.from_dict({"kind": "holiday", "country": "CN", "holiday": "圣诞节", "time_of_day": "09:00"},
                           today=date(2027, 1, 1))
