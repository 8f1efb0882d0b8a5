"""Campaign jobs: one APScheduler job per scheduled campaign in the SQLAlchemy job store, set deliberately
(coalesce, misfire grace), removed on cancel; the job and the reconcile pass fire through the domain with
the injected clock, so a firing late within the grace is sent once and one beyond it is recorded missed."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime

import pytest
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select, text

from campaigns import cancel_campaign, create_campaign, create_template
from campaigns.firing import schedule_campaign, set_campaign_schedule
from campaigns.models import Message, Run
from campaigns.schedules import Schedule
from core.clock import FrozenClock
from scheduler import jobs
from scheduler.campaign_jobs import add_campaign_sync, job_id, trigger_for
from tests.campaigns.factories import make_contact
from tests.conftest import make_config


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def grace_config(tmp_path, db_url):
    return make_config(tmp_path, db_url, HERALD_SCHEDULER_MISFIRE_GRACE_SECONDS=str(6 * 3600))


@pytest.fixture
def scheduler(session, database, grace_config):
    clock = FrozenClock(utc(2027, 3, 1))
    context = jobs.JobContext(grace_config, database, clock)
    jobs.bind(context)
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=database.engine),
                                               "memory": MemoryJobStore()}, timezone="UTC")
    context.scheduler = scheduler
    scheduler.start(paused=True)  # jobs are stored, none runs by itself: the test calls them with its clock
    yield scheduler, clock
    session.rollback()  # SQLite: the test's open read transaction holds the write lock the shutdown needs
    scheduler.shutdown(wait=False)
    jobs.bind(None)


def scheduled(session, now: datetime, schedule: dict) -> int:
    template = create_template(session, name="T", channel="sms", body="Hi", now=now)
    campaign = create_campaign(session, name="C", channel="sms", template_id=template.id, now=now)
    set_campaign_schedule(session, campaign.id, Schedule.from_dict(schedule, today=now.date()), now=now)
    schedule_campaign(session, campaign.id, now=now)
    return campaign.id


def stored_jobs(database) -> dict[str, object]:
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, job_state FROM apscheduler_jobs")).all()
    return {row.id: pickle.loads(row.job_state) for row in rows}


def test_a_scheduled_campaign_gets_a_stored_job_set_deliberately_and_loses_it_when_cancelled(
        session, database, scheduler, backend):
    aps, clock = scheduler
    birthday = scheduled(session, clock.now(), {"kind": "date_rule", "date_source": "birthday",
                                                "time_of_day": "09:00", "time_zone": "Asia/Shanghai"})
    weekly = scheduled(session, clock.now(), {"kind": "recurring", "cron": "0 10 * * 1", "max_runs": 4})
    jobs.sync_campaigns()
    state = stored_jobs(database)
    assert set(state) == {job_id(birthday), job_id(weekly)}
    job = state[job_id(birthday)]
    assert (job["func"], job["args"], job["coalesce"], job["misfire_grace_time"], job["max_instances"]) == (
        "scheduler.jobs:fire_campaign", (birthday,), True, 6 * 3600, 1)
    assert isinstance(job["trigger"], CronTrigger) and str(job["trigger"].timezone) == "Asia/Shanghai"
    jobs.sync_campaigns()  # unchanged: left alone
    assert set(stored_jobs(database)) == {job_id(birthday), job_id(weekly)}
    cancel_campaign(session, weekly, now=clock.now())
    jobs.sync_campaigns()
    assert set(stored_jobs(database)) == {job_id(birthday)}


def test_a_single_time_and_a_holiday_are_date_triggers_at_their_next_firing():
    now = utc(2027, 1, 1)
    holiday = Schedule.from_dict({"kind": "holiday", "country": "CN", "holiday": "Mid-Autumn Festival",
                                  "time_of_day": "09:00", "time_zone": "Asia/Shanghai"}, today=now.date())
    trigger = trigger_for(holiday, now=now)
    assert isinstance(trigger, DateTrigger) and trigger.run_date == utc(2027, 9, 15, 1)
    once = Schedule.from_dict({"kind": "at", "send_at": "2026-12-01T09:00"}, today=now.date())
    assert trigger_for(once, now=now) is None  # past: nothing to wake for


def test_the_job_fires_the_campaign_with_the_injected_clock(session, database, scheduler, backend):
    aps, clock = scheduler
    contact = make_contact(session, now=clock.now())
    campaign_id = scheduled(session, clock.now(), {"kind": "at", "send_at": "2027-03-02T09:00"})
    clock.set(utc(2027, 3, 2, 9))
    assert jobs.fire_campaign(campaign_id) is True
    assert jobs.fire_campaign(campaign_id) is False  # twice: once
    messages = session.scalars(select(Message.contact_id).where(Message.campaign_id == campaign_id)).all()
    assert messages == [contact.id]


def test_after_a_night_down_the_restart_sends_yesterdays_greeting_once_within_the_grace(
        session, database, scheduler, backend):
    aps, clock = scheduler
    contact = make_contact(session, now=clock.now())
    contact.birthday = date(1990, 3, 14)
    session.commit()
    campaign_id = scheduled(session, clock.now(), {"kind": "date_rule", "date_source": "birthday",
                                                   "time_of_day": "09:00", "time_zone": "Asia/Shanghai"})
    clock.set(utc(2027, 3, 13, 1))
    jobs.sync_campaigns()  # 13 March, on time
    clock.set(utc(2027, 3, 14, 5))  # down through 14 March 09:00 Shanghai (01:00 UTC); back 4 h later
    assert jobs.sync_campaigns() == 1  # the restart's reconcile pass catches up
    assert jobs.sync_campaigns() == 0
    run = session.scalars(select(Run).where(Run.campaign_id == campaign_id,
                                            Run.occasion_key == "date:2027-03-14")).one()
    assert run.status != "missed" and "fired 4 h late" in run.notes
    assert session.scalars(select(Message.contact_id).where(Message.run_id == run.id)).all() == [contact.id]


def test_after_a_long_outage_the_missed_greeting_is_recorded_not_sent(session, database, scheduler, backend):
    aps, clock = scheduler
    contact = make_contact(session, now=clock.now())
    contact.birthday = date(1990, 3, 14)
    session.commit()
    campaign_id = scheduled(session, clock.now(), {"kind": "date_rule", "date_source": "birthday",
                                                   "time_of_day": "09:00", "time_zone": "Asia/Shanghai"})
    clock.set(utc(2027, 3, 13, 1))
    jobs.sync_campaigns()
    clock.set(utc(2027, 3, 14, 12))  # 11 h late, grace 6 h
    jobs.sync_campaigns()
    run = session.scalars(select(Run).where(Run.campaign_id == campaign_id,
                                            Run.occasion_key == "date:2027-03-14")).one()
    assert run.status == "missed" and "beyond the grace window of 6 h" in run.notes
    assert session.scalars(select(Message.id).where(Message.run_id == run.id)).all() == []


def test_the_reconcile_pass_runs_from_memory_at_start(scheduler):
    aps, _clock = scheduler
    add_campaign_sync(aps)
    job = aps.get_job("sync_campaigns", jobstore="memory")
    assert job is not None and job.func_ref == "scheduler.jobs:sync_campaigns"


def test_herald_serve_embedded_scheduler_fires_a_scheduled_campaign_and_sends_it(tmp_path, db_url):
    """The wiring end to end: EmbeddedRunner's scheduler reconciles at start, fires the due campaign with its
    clock, and its senders deliver through log://."""
    import time

    from core.db import Database
    from scheduler.embedded import EmbeddedRunner

    config = make_config(tmp_path, db_url, HERALD_SCHEDULER_ENABLED="true")
    database = Database(str(config.database_url))
    clock = FrozenClock(utc(2027, 3, 1))
    try:
        with database.session() as session:
            make_contact(session, now=clock.now())
            campaign_id = scheduled(session, clock.now(), {"kind": "at", "send_at": "2027-03-02T09:00"})
        clock.set(utc(2027, 3, 2, 9, 0, 30))
        runner = EmbeddedRunner(config, database, clock=clock).start()
        try:
            deadline = time.monotonic() + 20
            statuses: list[str] = []
            while time.monotonic() < deadline:
                with database.session() as session:
                    statuses = list(session.scalars(select(Message.status).where(Message.campaign_id == campaign_id)))
                if statuses == ["sent"]:
                    break
                time.sleep(0.1)  # waiting on real threads; the campaign's time comes from the frozen clock
            assert statuses == ["sent"]
        finally:
            runner.stop()
        with database.session() as session:
            run = session.scalars(select(Run).where(Run.campaign_id == campaign_id)).one()
            assert (run.occasion_key, run.fired_at) == ("once", utc(2027, 3, 2, 9))
    finally:
        jobs.bind(None)
        database.dispose()


def test_a_campaign_whose_channel_cannot_open_is_logged_and_tried_again_not_lost(session, database, tmp_path,
                                                                                 db_url, caplog):
    config = make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL="fax://nowhere")
    clock = FrozenClock(utc(2027, 3, 1))
    jobs.bind(jobs.JobContext(config, database, clock))
    try:
        campaign_id = scheduled(session, clock.now(), {"kind": "at", "send_at": "2027-03-02T09:00"})
        session.rollback()
        clock.set(utc(2027, 3, 2, 9))
        assert jobs.fire_campaign(campaign_id) is False
        assert "event=firing_failed" in caplog.text and "fax" in caplog.text
        assert session.scalars(select(Run).where(Run.campaign_id == campaign_id)).all() == []
    finally:
        jobs.bind(None)
