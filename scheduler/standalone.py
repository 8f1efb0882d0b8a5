"""`herald scheduler`: the one scheduling process of scaled mode.

It runs the housekeeping jobs and wakes Celery workers whenever messages are due — including
retries whose backoff has passed, which no web request would wake anyone for.
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
from scheduler.celery_app import configure, wake_workers

log = logging.getLogger("herald.scheduler")


def run_scheduler(config: Config, database: Database) -> None:
    configure(config, database)
    jobs.bind(jobs.JobContext(config, database, SystemClock(), wake=wake_workers))
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=database.engine), "memory": MemoryJobStore()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone="UTC",
    )
    scheduler.add_job("scheduler.jobs:release_leases", "interval", seconds=60, id="housekeeping.release_leases",
                      replace_existing=True)
    # In memory, not in the job store: it is re-added at every start and must not pile up misfires.
    scheduler.add_job(jobs.wake_if_due, "interval", seconds=max(1.0, config.poll_seconds), id="wake_if_due",
                      jobstore="memory", replace_existing=True)
    log.info("event=scheduler_started")
    scheduler.start()
