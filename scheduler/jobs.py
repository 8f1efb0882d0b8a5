"""The jobs APScheduler runs. Their names are an API: the job store keeps `scheduler.jobs:<name>`,
so renaming one breaks schedules already stored (a rename needs a migration of apscheduler_jobs).

Jobs take only plain values and reach the database through the process's bound context: a job
store must never pickle an engine or an ORM object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.base import BaseScheduler

import campaigns.rfm
from campaigns import release_expired_leases
from campaigns.sender import has_due_messages
from core.clock import Clock
from core.config import Config
from core.db import Database

log = logging.getLogger("herald.scheduler")


@dataclass
class JobContext:
    config: Config
    database: Database
    clock: Clock
    wake: Callable[[], None] | None = None  # how to wake the senders (Celery in scaled mode)


_context: JobContext | None = None


def bind(context: JobContext | None) -> None:
    """Give this process's jobs their database and clock (done by whoever starts the scheduler)."""
    global _context
    _context = context


def _ctx() -> JobContext:
    if _context is None:
        raise RuntimeError("scheduler jobs ran before scheduler.jobs.bind(); start them through EmbeddedRunner")
    return _context


def release_leases() -> int:
    """Housekeeping: settle messages whose sender died after claiming them (DESIGN §3)."""
    ctx = _ctx()
    with ctx.database.session() as session:
        count = release_expired_leases(session, now=ctx.clock.now())
    if count:
        log.warning("event=leases_released count=%d", count)
    return count


def score_contacts() -> str:
    """Daily: RFM scores from conversions and the dormant rule (campaigns/rfm.py)."""
    ctx = _ctx()
    with ctx.database.session() as session:
        result = campaigns.rfm.score_contacts(session, now=ctx.clock.now(), dormant_days=ctx.config.dormant_days)
    log.info("event=contacts_scored scored=%d cleared=%d dormant=%d", result.scored, result.cleared, result.dormant)
    return str(result)


def add_contact_scoring(scheduler: BaseScheduler) -> None:
    """Run score_contacts every night at 03:17 UTC (a quiet hour, off the round minute every cron uses).

    A scheduler that was down at that time still runs it once within 12 hours, then waits for the next night.
    """
    scheduler.add_job("scheduler.jobs:score_contacts", "cron", hour=3, minute=17, id="housekeeping.score_contacts",
                      misfire_grace_time=12 * 3600, replace_existing=True)


def wake_if_due() -> bool:
    """Wake the senders when any message is due now (new sends, or retries whose backoff has passed)."""
    ctx = _ctx()
    with ctx.database.session() as session:
        due = has_due_messages(session, now=ctx.clock.now())
    if due and ctx.wake is not None:
        ctx.wake()
    return due
