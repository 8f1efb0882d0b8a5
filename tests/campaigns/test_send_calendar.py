"""The send calendar (campaigns/send_calendar.py): every scheduled, recurring, date-rule and holiday send on the
days of a month, with the recipients and cost expected each day; what went out already; estimates shared by
campaigns with one audience and kept between calls while the data is unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from campaigns import create_campaign, create_template, estimate_campaign, schedule_campaign, set_campaign_schedule
from campaigns.schedules import Schedule
from campaigns.send_calendar import EstimateCache, Window, next_sends, sends_between
from tests.campaigns.factories import make_contact

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DECEMBER = Window(date(2026, 12, 1), date(2026, 12, 31), "UTC", NOW, "CNY")


@pytest.fixture
def counted(session):
    calls: list[int] = []

    def estimate_of(campaign):
        calls.append(campaign.id)
        return estimate_campaign(session, campaign.id, now=NOW, price=Decimal("0.05"), currency="CNY",
                                 rate="10/second", names=False)

    estimate_of.calls = calls
    return estimate_of


def _scheduled(session, template, name, **schedule):
    campaign = create_campaign(session, name=name, channel="sms", template_id=template.id, now=NOW)
    set_campaign_schedule(session, campaign.id, Schedule.from_dict(schedule, today=NOW.date()), now=NOW)
    return schedule_campaign(session, campaign.id, now=NOW)


def test_a_month_lists_each_kind_of_send_on_its_days_with_recipients_and_cost(backend, session, counted):
    born = {3: 2, 17: 1}  # December day -> contacts with a birthday on it
    for day, many in born.items():
        for _ in range(many):
            contact = make_contact(session, now=NOW)
            contact.birthday = date(1990, 12, day)
    make_contact(session, now=NOW)  # no birthday: only in the broadcasts
    session.commit()
    template = create_template(session, name="Hi", channel="sms", body="Hi", now=NOW)
    once = _scheduled(session, template, "Member day", kind="at", send_at="2026-12-12T10:00", time_zone="UTC")
    weekly = _scheduled(session, template, "Monday news", kind="recurring", cron="0 10 * * 1", time_zone="UTC",
                        end_date="2026-12-20")
    birthday = _scheduled(session, template, "Birthday", kind="date_rule", date_source="birthday",
                          time_of_day="09:00", time_zone="UTC")
    _scheduled(session, template, "New year", kind="holiday", country="CN", holiday="New Year's Day",
               time_of_day="09:00", time_zone="UTC")
    days = {d.day: d for d in sends_between(session, DECEMBER, counted)}
    assert len(days) == 31
    listed = {(s.day.day, s.link[1]) for d in days.values() for s in d.sends}
    assert listed == {(12, once.id), (7, weekly.id), (14, weekly.id), (3, birthday.id), (17, birthday.id)}
    assert [(s.name, s.recipients, s.cost) for s in days[date(2026, 12, 3)].sends] == [
        ("Birthday", 2, Decimal("0.1000"))]
    assert (days[date(2026, 12, 12)].recipients, days[date(2026, 12, 12)].cost()) == (4, {"CNY": Decimal("0.20")})
    assert days[date(2026, 12, 12)].sends[0].at == datetime(2026, 12, 12, 10, 0, tzinfo=UTC)
    # Four campaigns, one audience: one estimate for the broadcasts and one for the date rule's counts by day.
    assert len(counted.calls) == 2
    january = Window(date(2027, 1, 1), date(2027, 1, 31), "UTC", NOW, "CNY")
    assert [s.name for d in sends_between(session, january, counted) for s in d.sends] == ["New year"]


def test_estimates_are_kept_between_calls_until_the_audience_changes(session, counted):
    make_contact(session, now=NOW)
    template = create_template(session, name="Hi", channel="sms", body="Hi", now=NOW)
    _scheduled(session, template, "Member day", kind="at", send_at="2026-12-12T10:00", time_zone="UTC")
    cache = EstimateCache()
    first = sends_between(session, DECEMBER, counted, cache=cache)
    again = sends_between(session, DECEMBER, counted, cache=cache)
    assert len(counted.calls) == 1 and first == again
    make_contact(session, now=NOW)  # one more reachable contact: the old figure would be wrong
    changed = sends_between(session, DECEMBER, counted, cache=cache)
    assert len(counted.calls) == 2
    assert sum(d.recipients for d in changed) == 2


def test_past_runs_show_what_went_out_and_next_sends_what_comes(session, counted):
    from campaigns import send_campaign

    for _ in range(3):
        make_contact(session, now=NOW)
    template = create_template(session, name="Hi", channel="sms", body="Hi", now=NOW)
    sent = create_campaign(session, name="Flash sale", channel="sms", template_id=template.id, now=NOW)
    send_campaign(session, sent.id, now=datetime(2026, 11, 20, 8, 0, tzinfo=UTC), channel_description="log://x",
                  dry_run=True)
    _scheduled(session, template, "Member day", kind="at", send_at="2026-12-12T10:00", time_zone="UTC")
    _scheduled(session, template, "Soon", kind="at", send_at="2026-11-24T10:00", time_zone="UTC")
    november = Window(date(2026, 11, 1), date(2026, 11, 30), "UTC", NOW, "CNY")
    days = {d.day: d for d in sends_between(session, november, counted)}
    (past,) = days[date(2026, 11, 20)].sends
    assert (past.name, past.done, past.recipients, past.status) == ("Flash sale", True, 3, "sent")
    upcoming = next_sends(session, now=NOW, zone="UTC", estimate_of=counted, count=5)
    assert [(s.name, s.at.date(), s.recipients) for s in upcoming] == [
        ("Soon", date(2026, 11, 24), 3), ("Member day", date(2026, 12, 12), 3)]
