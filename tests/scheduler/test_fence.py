"""Fenced jobs (issue 12, item 6): a scheduler that lost its lock runs nothing, even in the moment before
its heartbeat notices; and a firing of a job without a unique key (weekly report, RFM) runs once, however
many schedulers run it. Jobs run through a real APScheduler with Herald's FencedExecutor."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, text

from core.clock import FrozenClock
from core.users import User
from scheduler import jobs
from scheduler.fence import FencedExecutor, JobFiring
from scheduler.leader import LeaderLock
from tests.conftest import make_config
from tests.fakes.fake_smtp import FakeSmtp

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday


def run_in_scheduler(func: str, *, job_id: str, fire_time: datetime) -> JobExecutionEvent:
    """Run one firing of `func` the way `herald scheduler` does: a scheduler, its executor, a thread."""
    scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, executors={"default": FencedExecutor()},
                                    timezone="UTC")
    finished: list[JobExecutionEvent] = []
    done = threading.Event()

    def listen(event: JobExecutionEvent) -> None:
        finished.append(event)
        done.set()

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    # A firing due a moment ago, as a cron trigger hands it over; well within its grace time.
    scheduler.add_job(func, "date", run_date=fire_time, id=job_id, misfire_grace_time=3600)
    scheduler.start()
    try:
        assert done.wait(20), f"{func} never ran"
    finally:
        scheduler.shutdown(wait=True)
    (event,) = finished
    assert event.exception is None, event.traceback
    return event


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


@pytest.fixture
def report_config(tmp_path, db_url, database, smtp):
    with database.session() as session:
        session.add(User(email="boss@shop.example", name="Boss", password_hash="x", role="analyst", created_at=T0))
        session.commit()
    return make_config(tmp_path, db_url, HERALD_CHANNELS_EMAIL_URL=smtp.url + "?from=herald@shop.example",
                       HERALD_REPORTS_WEEKLY_TO="boss@shop.example")


# What a server restart or a network cut does to the leader's lock session (tests/scheduler/test_leader.py).
KILL_LOCK_SESSION = text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND application_name LIKE 'herald scheduler%' AND pid <> pg_backend_pid()")


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_scheduler_that_lost_its_lock_runs_no_job_even_before_its_heartbeat_notices(
        backend, database, report_config, smtp):
    lock = LeaderLock(database)
    assert lock.acquire()
    jobs.bind(jobs.JobContext(report_config, database, FrozenClock(T0), leader=lock))
    try:
        fire_time = datetime.now(UTC).replace(microsecond=0)
        leading = run_in_scheduler("scheduler.jobs:send_weekly_report", job_id="reports.weekly", fire_time=fire_time)
        assert leading.retval == "sent 1, refused 0" and len(smtp.messages) == 1

        with database.engine.connect() as conn:
            conn.execute(KILL_LOCK_SESSION)
            conn.commit()
        assert lock.held  # the heartbeat has not run yet: this process still believes it leads
        later = fire_time + timedelta(seconds=1)
        lost = run_in_scheduler("scheduler.jobs:send_weekly_report", job_id="reports.weekly", fire_time=later)
        assert lost.retval == jobs.NOT_LEADING
        assert len(smtp.messages) == 1  # nothing mailed by the scheduler that no longer leads
        assert run_in_scheduler("scheduler.jobs:score_contacts", job_id="housekeeping.score_contacts",
                                fire_time=later).retval == jobs.NOT_LEADING
    finally:
        jobs.bind(None)
        lock.release()


def test_one_firing_of_the_weekly_report_run_by_two_schedulers_is_mailed_once(backend, database, report_config,
                                                                               smtp):
    jobs.bind(jobs.JobContext(report_config, database, FrozenClock(T0)))
    try:
        fire_time = datetime.now(UTC).replace(microsecond=0)
        first = run_in_scheduler("scheduler.jobs:send_weekly_report", job_id="reports.weekly", fire_time=fire_time)
        second = run_in_scheduler("scheduler.jobs:send_weekly_report", job_id="reports.weekly", fire_time=fire_time)
        assert (first.retval, second.retval) == ("sent 1, refused 0", jobs.ALREADY_RUN)
        assert len(smtp.messages) == 1
        next_week = run_in_scheduler("scheduler.jobs:send_weekly_report", job_id="reports.weekly",
                                     fire_time=fire_time + timedelta(seconds=1))
        assert next_week.retval == "sent 1, refused 0" and len(smtp.messages) == 2  # another firing: mailed
        with database.session() as session:
            firings = session.execute(select(JobFiring.job_id, JobFiring.fire_time)
                                      .order_by(JobFiring.fire_time)).all()
        assert firings == [("reports.weekly", fire_time), ("reports.weekly", fire_time + timedelta(seconds=1))]
    finally:
        jobs.bind(None)


def test_a_firing_of_rfm_scoring_runs_once_and_a_run_by_hand_is_not_fenced(backend, tmp_path, db_url, database):
    jobs.bind(jobs.JobContext(make_config(tmp_path, db_url), database, FrozenClock(T0)))
    try:
        fire_time = datetime.now(UTC).replace(microsecond=0)
        first = run_in_scheduler("scheduler.jobs:score_contacts", job_id="housekeeping.score_contacts",
                                 fire_time=fire_time)
        again = run_in_scheduler("scheduler.jobs:score_contacts", job_id="housekeeping.score_contacts",
                                 fire_time=fire_time)
        assert first.retval != jobs.ALREADY_RUN and again.retval == jobs.ALREADY_RUN
        assert jobs.score_contacts() not in (jobs.ALREADY_RUN, jobs.NOT_LEADING)  # `herald` CLI or a test
    finally:
        jobs.bind(None)
