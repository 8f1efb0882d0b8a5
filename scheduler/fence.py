"""Fencing scheduled jobs: a job runs only while this process leads, and a job without a natural unique key
runs at most once per firing time, however many schedulers woke for it.

Why both. A leader that lost its lock learns it at its next heartbeat (scheduler/standalone.py), and jobs
already handed to the thread pool would still run after that — seen 60–80 ms after
`scheduler_leadership_lost`. So every job first asks, in its own transaction, whether the lock is still
held by this process's lock session (LeaderLock.held_in). That leaves the instant between the check and
the job's commit; for the jobs no unique key protects (the weekly report mail, RFM scoring, mailbox
polling) a row in job_firings, unique on (job_id, fire_time) and inserted in the job's transaction,
closes it: two schedulers, or one firing run twice, insert the same key and only the first goes on.
Campaign firings have their own key (a run per occasion), and the other jobs only settle rows.

APScheduler 3 does not tell a job which firing it runs for, so FencedExecutor (the scheduler's
default executor) sets it for the job's thread: `current_firing()`.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from sqlalchemy import String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime

log = logging.getLogger("herald.scheduler")

# Firings older than this are forgotten: no scheduler catches up on a firing that old (the longest
# misfire grace of a fenced job is 12 hours).
KEEP_FIRINGS = timedelta(days=30)

_firing: ContextVar[tuple[str, datetime] | None] = ContextVar("herald_job_firing", default=None)


class JobFiring(Base):
    """One firing of a scheduled job that some scheduler ran: its key makes a second run of it a no-op."""

    __tablename__ = "job_firings"

    job_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))


def current_firing() -> tuple[str, datetime] | None:
    """(job id, scheduled fire time) of the job running in this thread; None when called by hand."""
    return _firing.get()


def _run_fenced(job: Any, jobstore_alias: str, run_times: list[datetime], logger_name: str) -> list[Any]:
    events = []
    for run_time in run_times:
        token = _firing.set((job.id, run_time))
        try:
            events.extend(run_job(job, jobstore_alias, [run_time], logger_name))
        finally:
            _firing.reset(token)
    return events


class FencedExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, except that each job knows the firing it runs for (current_firing)."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def done(future: Any) -> None:  # as BasePoolExecutor reports a job's outcome to the scheduler
            exc = future.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        self._pool.submit(_run_fenced, job, job._jobstore_alias, run_times, self._logger.name).add_done_callback(done)


def claim_firing(session: Session, *, job_id: str, fire_time: datetime, now: datetime) -> bool:
    """Insert the job's firing in `session`'s transaction; False when some run of it already has (or is
    inserting it: PostgreSQL makes this wait for that transaction, then say so). Does not commit."""
    table = JobFiring.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(delete(JobFiring).where(JobFiring.job_id == job_id, JobFiring.fire_time < now - KEEP_FIRINGS))
    # RETURNING, not rowcount: on PostgreSQL the rowcount of this INSERT … ON CONFLICT DO NOTHING was seen
    # non-zero when nothing was inserted.
    inserted = session.execute(dialect.insert(table).values(job_id=job_id, fire_time=fire_time, ran_at=now)
                               .on_conflict_do_nothing(index_elements=["job_id", "fire_time"])
                               .returning(table.c.job_id)).first()
    return inserted is not None

