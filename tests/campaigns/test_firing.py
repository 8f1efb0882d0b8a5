"""Scheduled campaigns end to end with a frozen clock: zones, quiet hours, recurring runs, date rules,
holidays and misfires, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from audiences import ContactDate
from campaigns import create_campaign, create_template
from campaigns.firing import fire_due_campaign, next_firings, schedule_campaign, set_campaign_schedule
from campaigns.models import Campaign, CampaignOccasion, Message, Run
from campaigns.schedules import Schedule, ScheduleDefaults
from core.errors import Conflict
from tests.campaigns.factories import make_contact

DEFAULTS = ScheduleDefaults(default_zone="UTC", quiet_hours="", feb29="feb28", grace_seconds=6 * 3600)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def person(session, now: datetime, *, zone: str | None = None, birthday: date | None = None, **attributes: Any):
    contact = make_contact(session, now=now, **attributes)
    contact.time_zone, contact.birthday = zone, birthday
    session.commit()
    return contact


def scheduled(session, now: datetime, schedule: dict[str, Any], *, defaults: ScheduleDefaults = DEFAULTS) -> Campaign:
    template = create_template(session, name="T", channel="sms", body="Hi {{ contact.first_name }}", now=now)
    campaign = create_campaign(session, name="Greeting", channel="sms", template_id=template.id, now=now)
    set_campaign_schedule(session, campaign.id, Schedule.from_dict(schedule, today=now.date(), defaults=defaults),
                          now=now)
    return schedule_campaign(session, campaign.id, now=now)


def fire(session, campaign: Campaign, now: datetime, defaults: ScheduleDefaults = DEFAULTS):
    return fire_due_campaign(session, campaign.id, now=now, channel_description="log://test", dry_run=True,
                             defaults=defaults)


def due_times(session, run_id: int) -> dict[int, tuple[str, datetime]]:
    rows = session.execute(select(Message.contact_id, Message.status, Message.not_before)
                           .where(Message.run_id == run_id))
    return {contact_id: (status, not_before) for contact_id, status, not_before in rows}


def finish(session, run: Run) -> None:
    """What the senders do when a run's last message is sent: mark them, then finish idle runs."""
    from sqlalchemy import update

    from campaigns.queries import finish_idle_runs

    session.execute(update(Message).where(Message.run_id == run.id).values(status="sent"))
    finish_idle_runs(session, [run.id], now=utc(2027, 3, 9))
    session.commit()
    session.expire_all()


def runs_of(session, campaign_id: int) -> list[Run]:
    session.expire_all()
    return list(session.scalars(select(Run).where(Run.campaign_id == campaign_id).order_by(Run.id)))


def test_nine_in_each_recipients_zone_is_materialised_early_and_due_at_each_local_nine(session, backend):
    now = utc(2027, 1, 10, 12)
    shanghai = person(session, now, zone="Asia/Shanghai")
    new_york = person(session, now, zone="America/New_York")
    nowhere = person(session, now)  # no zone: the configured default (UTC)
    campaign = scheduled(session, now, {"kind": "at", "send_at": "2027-01-15T09:00", "per_recipient": True})
    assert fire(session, campaign, utc(2027, 1, 14, 18, 59)).run is None  # not yet
    run = fire(session, campaign, utc(2027, 1, 14, 19)).run  # 09:00 in UTC+14
    assert run is not None and run.occasion_key == "once" and run.fired_at == utc(2027, 1, 14, 19)
    assert due_times(session, run.id) == {
        shanghai.id: ("pending", utc(2027, 1, 15, 1)),
        new_york.id: ("pending", utc(2027, 1, 15, 14)),
        nowhere.id: ("pending", utc(2027, 1, 15, 9)),
    }
    assert session.get(Campaign, campaign.id).status == "running"
    assert fire(session, campaign, utc(2027, 1, 15, 20)).run is None  # fired once


def test_nine_in_the_senders_zone_is_one_instant_for_everyone(session, backend):
    now = utc(2027, 1, 10, 12)
    a, b = person(session, now, zone="Asia/Shanghai"), person(session, now, zone="America/New_York")
    campaign = scheduled(session, now, {"kind": "at", "send_at": "2027-01-15T09:00", "time_zone": "Asia/Shanghai"})
    run = fire(session, campaign, utc(2027, 1, 15, 1)).run
    assert due_times(session, run.id) == {a.id: ("pending", utc(2027, 1, 15, 1)),
                                          b.id: ("pending", utc(2027, 1, 15, 1))}


def test_quiet_hours_move_each_recipients_send_to_their_own_morning(session, backend):
    now = utc(2027, 1, 10, 12)
    shanghai = person(session, now, zone="Asia/Shanghai")  # 22:00 there: quiet, until 08:00
    london = person(session, now, zone="Europe/London")  # 14:00 there: fine
    campaign = scheduled(session, now, {"kind": "at", "send_at": "2027-01-15T14:00", "time_zone": "Europe/London",
                                        "quiet_hours": "21:00-08:00"})
    run = fire(session, campaign, utc(2027, 1, 15, 14)).run
    assert due_times(session, run.id) == {shanghai.id: ("pending", utc(2027, 1, 16, 0)),
                                          london.id: ("pending", utc(2027, 1, 15, 14))}


def test_an_event_notice_ignores_quiet_hours(session, backend):
    now = utc(2027, 1, 10, 12)
    shanghai = person(session, now, zone="Asia/Shanghai")
    campaign = scheduled(session, now, {"kind": "at", "send_at": "2027-01-15T14:00", "time_zone": "Europe/London"},
                         defaults=ScheduleDefaults(quiet_hours="21:00-08:00"))
    campaign.kind = "event_notice"
    session.commit()
    run = fire(session, campaign, utc(2027, 1, 15, 14), ScheduleDefaults(quiet_hours="21:00-08:00")).run
    assert due_times(session, run.id) == {shanghai.id: ("pending", utc(2027, 1, 15, 14))}


def test_a_recurring_campaign_makes_one_run_per_firing_with_its_own_snapshot_and_stops_at_its_count(session, backend):
    now = utc(2027, 3, 1)
    first = person(session, now)
    campaign = scheduled(session, now, {"kind": "recurring", "cron": "0 10 * * 1", "time_zone": "Asia/Shanghai",
                                        "max_runs": 2})
    assert next_firings(session, campaign, now=now, count=10) == [utc(2027, 3, 1, 2), utc(2027, 3, 8, 2)]
    run1 = fire(session, campaign, utc(2027, 3, 1, 2)).run
    second = person(session, now)  # joins after the first run: only in the second one's snapshot
    assert fire(session, campaign, utc(2027, 3, 5)).run is None
    assert session.get(Campaign, campaign.id).status == "running"  # run 1 is still sending
    finish(session, run1)
    assert session.get(Campaign, campaign.id).status == "scheduled"  # until the next firing
    run2 = fire(session, campaign, utc(2027, 3, 8, 2)).run
    assert (run1.occasion_key, run2.occasion_key) == ("2027-03-01T02:00Z", "2027-03-08T02:00Z")
    assert set(due_times(session, run1.id)) == {first.id}
    assert set(due_times(session, run2.id)) == {first.id, second.id}
    assert session.get(Campaign, campaign.id).status == "running"  # its last run is sending
    finish(session, run2)
    assert session.get(Campaign, campaign.id).status == "completed"
    assert fire(session, campaign, utc(2027, 3, 15, 2)).run is None
    assert next_firings(session, session.get(Campaign, campaign.id), now=utc(2027, 3, 9)) == []


def test_a_recurring_campaign_stops_after_its_end_date(session, backend):
    now = utc(2027, 3, 1)
    campaign = scheduled(session, now, {"kind": "recurring", "cron": "0 10 * * *", "end_date": "2027-03-02"})
    for day in (1, 2, 3, 4):
        fire(session, campaign, utc(2027, 3, day, 10))
    assert [r.occasion_key for r in runs_of(session, campaign.id)] == ["2027-03-01T10:00Z", "2027-03-02T10:00Z"]
    assert session.get(Campaign, campaign.id).status == "completed"  # nobody to send to: done at once


def test_a_birthday_greeting_goes_once_a_year_even_if_the_job_runs_twice_and_the_birthday_is_edited(session, backend):
    now = utc(2027, 3, 1)
    ann = person(session, now, zone="Asia/Shanghai", birthday=date(1990, 3, 14))
    bob = person(session, now, zone="America/New_York", birthday=date(1985, 3, 14))
    person(session, now, birthday=date(1990, 3, 15))  # not today
    campaign = scheduled(session, now, {"kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00",
                                        "per_recipient": True})
    run = fire(session, campaign, utc(2027, 3, 13, 19)).run  # 14 March begins in UTC+14
    assert run.occasion_key == "date:2027-03-14"
    assert due_times(session, run.id) == {ann.id: ("pending", utc(2027, 3, 14, 1)),
                                          bob.id: ("pending", utc(2027, 3, 14, 13))}  # 09:00 EDT
    assert fire(session, campaign, utc(2027, 3, 13, 19, 5)).run is None  # the job runs twice
    ann.birthday = date(1990, 3, 20)  # edited after the greeting: still one greeting in 2027
    session.commit()
    fire(session, campaign, utc(2027, 3, 19, 19))
    greeted = session.scalars(select(Message.contact_id).where(Message.campaign_id == campaign.id)).all()
    assert sorted(greeted) == sorted([ann.id, bob.id])
    occasions = session.execute(select(CampaignOccasion.contact_id, CampaignOccasion.occasion)).all()
    assert sorted(occasions) == sorted([(ann.id, "birthday:2027"), (bob.id, "birthday:2027")])
    campaign = session.get(Campaign, campaign.id)
    assert campaign.status == "running" and campaign.next_fire_at == utc(2027, 3, 20, 19)  # a date rule goes on


def test_a_29_february_birthday_is_greeted_on_28_february_in_other_years(session, backend):
    now = utc(2027, 2, 1)
    leapling = person(session, now, birthday=date(2000, 2, 29))
    campaign = scheduled(session, now, {"kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00"})
    run = fire(session, campaign, utc(2027, 2, 28, 9)).run
    assert set(due_times(session, run.id)) == {leapling.id}
    run = fire(session, campaign, utc(2027, 3, 1, 9)).run
    assert due_times(session, run.id) == {}


def test_a_29_february_birthday_can_be_greeted_on_1_march_instead(session, backend):
    now = utc(2027, 2, 1)
    leapling = person(session, now, birthday=date(2000, 2, 29))
    campaign = scheduled(session, now, {"kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00",
                                        "feb29": "mar1"})
    assert due_times(session, fire(session, campaign, utc(2027, 2, 28, 9)).run.id) == {}
    assert set(due_times(session, fire(session, campaign, utc(2027, 3, 1, 9)).run.id)) == {leapling.id}


def test_a_renewal_reminder_goes_three_days_before_the_important_date(session, backend):
    now = utc(2027, 3, 1)
    renewing = person(session, now)
    session.add(ContactDate(contact_id=renewing.id, kind="contract_renewal", date=date(2024, 3, 17)))
    member = person(session, now, member_since="2020-03-14")
    session.commit()
    campaign = scheduled(session, now, {"kind": "date_rule", "date_source": "date:contract_renewal",
                                        "offset_days": -3, "time_of_day": "09:00"})
    run = fire(session, campaign, utc(2027, 3, 14, 9)).run
    assert set(due_times(session, run.id)) == {renewing.id}
    anniversary = scheduled(session, now, {"kind": "date_rule", "date_source": "attribute:member_since",
                                           "time_of_day": "09:00"})
    run = fire(session, anniversary, utc(2027, 3, 14, 9)).run
    assert set(due_times(session, run.id)) == {member.id}


def test_a_spring_festival_greeting_fires_on_6_february_2027(session, backend):
    now = utc(2027, 1, 1)
    shanghai = person(session, now, zone="Asia/Shanghai")
    campaign = scheduled(session, now, {"kind": "holiday", "country": "CN", "time_of_day": "09:00",
                                        "holiday": "Chinese New Year (Spring Festival)", "per_recipient": True})
    assert fire(session, campaign, utc(2027, 2, 4, 19)).run is None
    run = fire(session, campaign, utc(2027, 2, 5, 19)).run  # 6 February begins in UTC+14
    assert run.occasion_key == "holiday:2027-02-06"
    assert due_times(session, run.id) == {shanghai.id: ("pending", utc(2027, 2, 6, 1))}


def test_a_firing_late_within_the_grace_window_is_sent_once_and_says_so(session, backend):
    now = utc(2027, 3, 1)
    person(session, now, birthday=date(1990, 3, 14))
    campaign = scheduled(session, now, {"kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00",
                                        "time_zone": "Asia/Shanghai"})
    fire(session, campaign, utc(2027, 3, 13, 1))  # 13 March fired on time; then the scheduler stops
    restart = utc(2027, 3, 14, 6)  # 14 March's 09:00 Shanghai was 01:00 UTC: 5 h late, grace 6 h
    firing = fire(session, campaign, restart)
    assert not firing.missed and firing.run.occasion_key == "date:2027-03-14"
    assert "fired 5 h late" in firing.run.notes and "within the grace window of 6 h" in firing.run.notes
    assert [status for status, _ in due_times(session, firing.run.id).values()] == ["pending"]
    assert fire(session, campaign, restart + timedelta(minutes=1)).run is None  # once


def test_a_firing_beyond_the_grace_window_sends_nothing_and_records_why(session, backend):
    now = utc(2027, 3, 1)
    person(session, now, birthday=date(1990, 3, 14))
    campaign = scheduled(session, now, {"kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00",
                                        "time_zone": "Asia/Shanghai"})
    fire(session, campaign, utc(2027, 3, 13, 1))
    firing = fire(session, campaign, utc(2027, 3, 14, 8))  # 7 h late, grace 6 h
    assert firing.missed and firing.run.status == "missed" and firing.run.occasion_key == "date:2027-03-14"
    assert "beyond the grace window of 6 h" in firing.run.notes
    assert due_times(session, firing.run.id) == {}
    # The next day fires as usual.
    assert fire(session, campaign, utc(2027, 3, 15, 1)).run.occasion_key == "date:2027-03-15"


def test_firings_missed_over_several_days_are_coalesced_into_the_latest(session, backend):
    now = utc(2027, 3, 1)
    campaign = scheduled(session, now, {"kind": "recurring", "cron": "0 10 * * *", "max_runs": 10})
    fire(session, campaign, utc(2027, 3, 1, 10))
    firing = fire(session, campaign, utc(2027, 3, 4, 11))  # 2nd and 3rd missed, 4th an hour late
    assert firing.run.occasion_key == "2027-03-04T10:00Z"
    assert "2 earlier firing(s)" in firing.run.notes
    assert len(runs_of(session, campaign.id)) == 2


def test_only_a_draft_with_a_schedule_in_the_future_can_be_scheduled(session):
    now = utc(2027, 3, 1)
    template = create_template(session, name="T", channel="sms", body="Hi", now=now)
    campaign = create_campaign(session, name="C", channel="sms", template_id=template.id, now=now)
    with pytest.raises(Conflict, match="has no schedule"):
        schedule_campaign(session, campaign.id, now=now)
    set_campaign_schedule(session, campaign.id, Schedule.from_dict(
        {"kind": "at", "send_at": "2027-02-01T09:00"}, today=now.date()), now=now)
    with pytest.raises(Conflict, match="already past"):
        schedule_campaign(session, campaign.id, now=now)
    with pytest.raises(Conflict, match="needs approval"):
        schedule_campaign(session, campaign.id, now=now, approval_required=True)
    assert session.get(Campaign, campaign.id).kind == "broadcast"


def test_a_cancelled_campaign_no_longer_fires(session):
    from campaigns import cancel_campaign

    now = utc(2027, 3, 1)
    campaign = scheduled(session, now, {"kind": "recurring", "cron": "0 10 * * *", "max_runs": 5})
    cancel_campaign(session, campaign.id, now=now)
    assert fire(session, campaign, utc(2027, 3, 1, 10)).run is None
    assert next_firings(session, session.get(Campaign, campaign.id), now=now) == []


def test_send_now_waits_out_each_recipients_quiet_hours_but_an_event_notice_does_not(tmp_path, db_url, session,
                                                                                    backend):
    from campaigns import send_campaign_now
    from tests.conftest import make_config

    config = make_config(tmp_path, db_url, HERALD_CAMPAIGNS_QUIET_HOURS="21:00-08:00")
    now = utc(2027, 1, 15, 14)  # 22:00 in Shanghai, 14:00 in London
    shanghai = person(session, now, zone="Asia/Shanghai")
    london = person(session, now, zone="Europe/London")
    template = create_template(session, name="T", channel="sms", body="Hi", now=now)
    marketing = create_campaign(session, name="Sale", channel="sms", template_id=template.id, now=now)
    run = send_campaign_now(session, marketing.id, config=config, now=now)
    assert due_times(session, run.id) == {shanghai.id: ("pending", utc(2027, 1, 16, 0)),
                                          london.id: ("pending", now)}
    notice = create_campaign(session, name="Gate B7", channel="sms", template_id=template.id, now=now)
    notice.kind = "event_notice"
    session.commit()
    run = send_campaign_now(session, notice.id, config=config, now=now)
    assert due_times(session, run.id) == {shanghai.id: ("pending", now), london.id: ("pending", now)}


def test_two_schedulers_firing_the_same_birthday_at_once_greet_each_person_once(database, session, backend):
    import threading

    now = utc(2027, 3, 1)
    people = [person(session, now, birthday=date(1990, 3, 14)) for _ in range(20)]
    campaign = scheduled(session, now, {"kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00"})
    start = threading.Barrier(2)
    results = []

    def fire_in_own_session() -> None:
        with database.session() as own:
            start.wait()
            results.append(fire_due_campaign(own, campaign.id, now=utc(2027, 3, 14, 9), channel_description="x",
                                             dry_run=True, defaults=DEFAULTS).run)

    threads = [threading.Thread(target=fire_in_own_session) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(run is None for run in results) == [False, True]  # one made the run, the other found it made
    greeted = session.scalars(select(Message.contact_id).where(Message.campaign_id == campaign.id)).all()
    assert sorted(greeted) == sorted(p.id for p in people)


def test_a_paused_recurring_campaign_does_not_fire_and_resumes_with_the_next_firing(session, backend):
    from campaigns import pause_campaign, resume_campaign

    now = utc(2027, 3, 1)
    person(session, now)
    campaign = scheduled(session, now, {"kind": "recurring", "cron": "0 10 * * *", "max_runs": 10})
    fire(session, campaign, utc(2027, 3, 1, 10))
    pause_campaign(session, campaign.id, user_id=None, now=utc(2027, 3, 1, 10, 5))
    assert fire(session, campaign, utc(2027, 3, 2, 10)).run is None  # paused: nothing fires
    resume_campaign(session, campaign.id, user_id=None, now=utc(2027, 3, 3, 9))
    firing = fire(session, campaign, utc(2027, 3, 3, 10))
    assert firing.run.occasion_key == "2027-03-03T10:00Z"
    assert "1 earlier firing(s)" in firing.run.notes and "paused" in firing.run.notes


def test_lateness_and_a_grace_window_under_a_minute_are_said_in_seconds(session, backend):
    now = utc(2027, 3, 1)
    seconds_grace = ScheduleDefaults(default_zone="UTC", quiet_hours="", feb29="feb28", grace_seconds=5)
    campaign = scheduled(session, now, {"kind": "recurring", "cron": "0 10 * * *", "max_runs": 10},
                         defaults=seconds_grace)
    firing = fire(session, campaign, utc(2027, 3, 1, 10, 0, 20), defaults=seconds_grace)  # 20 s late, grace 5 s
    assert firing.missed
    assert "(20 s late), beyond the grace window of 5 s" in firing.run.notes


def test_a_firing_within_the_grace_window_but_under_a_minute_late_says_how_late(session, backend):
    now = utc(2027, 3, 1)
    campaign = scheduled(session, now, {"kind": "recurring", "cron": "0 10 * * *", "max_runs": 10})
    firing = fire(session, campaign, utc(2027, 3, 1, 10, 0, 20))  # 20 s late, grace 6 h
    assert not firing.missed
    assert "fired 20 s late" in firing.run.notes and "within the grace window of 6 h" in firing.run.notes
    on_time = fire(session, campaign, utc(2027, 3, 2, 10, 0, 0, 300_000))  # a wake-up 0.3 s after: no note
    assert not on_time.missed and "late" not in (on_time.run.notes or "")
