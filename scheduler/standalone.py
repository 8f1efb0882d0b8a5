"""`herald scheduler`: the one scheduling process of scaled mode.

It runs the housekeeping jobs and wakes Celery workers whenever messages are due — including
retries whose backoff has passed, which no web request would wake anyone for.

Exactly one runs jobs: before starting APScheduler it takes the leader lock (scheduler/leader.py);
a second `herald scheduler` stands by until the first dies, then takes over. Start one on each of
two machines for fail-over. The web processes never schedule (web/wsgi.py, `herald serve` in
celery mode): APScheduler inside N web workers would run every job N times.
"""

from __future__ import annotations

import logging

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from core.clock import SystemClock
from core.config import Config
from core.db import Database
from scheduler import jobs
from scheduler.campaign_jobs import add_campaign_sync
from scheduler.celery_app import configure, wake_workers
from scheduler.fence import FencedExecutor
from scheduler.leader import LeaderLock

log = logging.getLogger("herald.scheduler")

STANDBY_POLL_SECONDS = 5.0
# How often the leader checks that its lock connection is alive; a leader cut off from the
# database stops within this long after the server has freed the lock for a standby.
HEARTBEAT_SECONDS = 5.0


class LeadershipLost(RuntimeError):
    """The leader's lock connection broke; another scheduler may lead now, so this one stopped."""


def run_scheduler(config: Config, database: Database, *, standby_poll_seconds: float = STANDBY_POLL_SECONDS,
                  heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
    """Wait to lead (see the module doc), then run the scheduler until the process is stopped.

    Raises LeadershipLost if the lock's connection breaks while leading, so the process exits
    non-zero and its supervisor restarts it as a standby.
    """
    lock = LeaderLock(database)
    lock.acquire(blocking_poll_seconds=standby_poll_seconds)
    lost: list[bool] = []
    try:
        scheduler = _build_scheduler(config, database, lock)

        def heartbeat() -> None:
            if not lock.still_held():
                log.error("event=scheduler_leadership_lost reason=lock connection closed; stopping")
                lost.append(True)
                scheduler.shutdown(wait=False)

        scheduler.add_job(heartbeat, "interval", seconds=heartbeat_seconds, id="leader_heartbeat", jobstore="memory",
                          replace_existing=True)
        log.info("event=scheduler_started")
        scheduler.start()
    finally:
        lock.release()
    if lost:
        raise LeadershipLost("the scheduler's leader lock connection closed; restart `herald scheduler` to stand by")


def _build_scheduler(config: Config, database: Database, lock: LeaderLock | None = None) -> BlockingScheduler:
    configure(config, database)
    context = jobs.JobContext(config, database, SystemClock(), wake=wake_workers, leader=lock)
    jobs.bind(context)
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=database.engine), "memory": MemoryJobStore()},
        executors={"default": FencedExecutor()},  # each job knows its firing time (scheduler/fence.py)
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone="UTC",
    )
    scheduler.add_job("scheduler.jobs:release_leases", "interval", seconds=60, id="housekeeping.release_leases",
                      replace_existing=True)
    # In memory, not in the job store: it is re-added at every start and must not pile up misfires.
    scheduler.add_job(jobs.wake_if_due, "interval", seconds=max(1.0, config.poll_seconds), id="wake_if_due",
                      jobstore="memory", replace_existing=True)
    jobs.add_contact_scoring(scheduler)
    jobs.add_upload_cleanup(scheduler)
    jobs.add_reconciling(scheduler)
    jobs.add_journey_job(scheduler)
    jobs.add_fallback_sending(scheduler)
    jobs.add_mailbox_reading(scheduler, config)
    jobs.add_report_jobs(scheduler, config)
    add_campaign_sync(scheduler)
    context.scheduler = scheduler
    return scheduler
