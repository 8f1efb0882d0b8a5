"""Embedded mode: the sender threads and APScheduler inside `herald serve`.

Each sender thread owns its channel instances (an SMTP connection belongs to one thread) and
calls the same Dispatcher.dispatch_due() that a Celery worker calls in scaled mode; only who calls
it and when differs. The rate limiter is shared by all threads of the process, so a provider's
rate is a process-wide rate, not a per-thread one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from campaigns.delivery.sender import check_sender_settings, make_dispatcher, open_configured_channels
from channels import Channel, RateLimiter
from core.clock import Clock, SystemClock
from core.config import Config
from core.db import Database
from scheduler import jobs
from scheduler.campaign_jobs import add_campaign_sync
from scheduler.fence import FencedExecutor

log = logging.getLogger("herald.sender")

ChannelOpener = Callable[[Config], dict[str, Channel]]


class EmbeddedRunner:
    """Sender threads plus the scheduler, started and stopped together."""

    def __init__(self, config: Config, database: Database, *, clock: Clock | None = None,
                 open_channels: ChannelOpener = open_configured_channels, run_scheduler: bool | None = None) -> None:
        self.config = config
        self.database = database
        self.clock = clock or SystemClock()
        self.open_channels = open_channels
        self.run_scheduler = config.scheduler_enabled if run_scheduler is None else run_scheduler
        self.limiter = RateLimiter("memory://")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._scheduler: BackgroundScheduler | None = None
        self.errors = 0  # dispatch rounds that raised; visible to tests and the settings page

    def start(self) -> EmbeddedRunner:
        # Open every channel before starting: a bad channel URL must stop start-up, not a thread.
        channel_sets = [self.open_channels(self.config) for _ in range(self.config.sender_threads)]
        try:  # and settings that cannot hold (a lease too short for the channel's rate) stop it too
            check_sender_settings(self.config, channel_sets[0])
        except Exception:
            for channels in channel_sets:
                for channel in channels.values():
                    channel.close()
            raise
        for number, channels in enumerate(channel_sets, start=1):
            thread = threading.Thread(target=self._send_loop, args=(channels,), name=f"herald-sender-{number}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.run_scheduler:
            self._start_scheduler()
        return self

    def wake(self) -> None:
        """Start sending now instead of at the next poll (called after Send now)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            jobs.bind(None)

    def _send_loop(self, channels: dict[str, Channel]) -> None:
        dispatcher = make_dispatcher(self.config, self.database, channels, self.limiter, self.clock)
        try:
            while not self._stop.is_set():
                try:
                    handled = dispatcher.dispatch_due()
                except Exception:  # noqa: BLE001 - the loop must survive a database outage or a bug
                    self.errors += 1
                    log.exception("event=dispatch_failed thread=%s", threading.current_thread().name)
                    handled = 0
                    self._stop.wait(min(30.0, self.config.poll_seconds * 5))
                if handled == 0:
                    self._wake.wait(self.config.poll_seconds)
                    self._wake.clear()
        finally:
            dispatcher.close()
            for channel in channels.values():
                channel.close()

    def _start_scheduler(self) -> None:
        context = jobs.JobContext(self.config, self.database, self.clock, wake=self.wake)
        jobs.bind(context)
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.database.engine), "memory": MemoryJobStore()},
            executors={"default": FencedExecutor()},  # each job knows its firing time (scheduler/fence.py)
            # Coalesce: a scheduler that was down runs a missed housekeeping job once, not once per miss.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            timezone="UTC",
        )
        scheduler.add_job("scheduler.jobs:release_leases", "interval", seconds=60, id="housekeeping.release_leases",
                          replace_existing=True)
        jobs.add_contact_scoring(scheduler)
        jobs.add_upload_cleanup(scheduler)
        jobs.add_reconciling(scheduler)
        jobs.add_journey_job(scheduler)
        jobs.add_fallback_sending(scheduler)
        jobs.add_mailbox_reading(scheduler, self.config)
        jobs.add_report_jobs(scheduler, self.config)
        add_campaign_sync(scheduler)
        context.scheduler = scheduler
        scheduler.start()
        self._scheduler = scheduler
