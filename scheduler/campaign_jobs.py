"""One APScheduler job per scheduled campaign, kept in step with the campaigns table.

The web process never touches the scheduler (it may not even run one). It only writes the campaign:
its schedule, and its status (scheduled, cancelled…). The scheduling process reconciles every few
seconds (`sync_campaign_jobs`): a job for each scheduled campaign with a schedule — added when it is
scheduled or approved, replaced when its trigger changes, removed when it is cancelled, paused or done.

Each job is only a precise alarm clock. What is due, and whether it is still worth sending, is decided
by campaigns.fire_scheduled_campaign from the rows (campaigns/firing.py), so the same decision holds
whether the job ran on time, late, twice, or the catch-up in the reconcile pass got there first:
- coalesce=True: a job that missed several firings runs once;
- misfire_grace_time = [scheduler] misfire_grace_seconds: APScheduler drops a wake-up later than
  that, exactly when the domain would record the firing as missed (which the reconcile pass does,
  so the campaign page says so instead of staying silent).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from campaigns.schedules import Schedule, cron_trigger, schedule_of

log = logging.getLogger("herald.scheduler")

JOB_PREFIX = "campaign:"
# The job function's text reference: stored in the job store, so it is an API (scheduler/jobs.py).
FIRE_JOB = "scheduler.jobs:fire_campaign"
SYNC_JOB = "scheduler.jobs:sync_campaigns"
# How soon a campaign scheduled (or cancelled) in the web UI gets (or loses) its job.
SYNC_SECONDS = 10


def job_id(campaign_id: int) -> str:
    return f"{JOB_PREFIX}{campaign_id}"


def trigger_for(schedule: Schedule, *, now: datetime) -> BaseTrigger | None:
    """The APScheduler trigger that wakes a campaign at its firings; None when none is left.

    Cron rules and daily date rules are CronTriggers; a single time and a holiday (a date that moves
    each year) are DateTriggers at the next firing, re-made after it fires by the reconcile pass.
    """
    if schedule.kind == "recurring":
        return cron_trigger(str(schedule.cron), schedule.time_zone, end_date=schedule.end_date)
    if schedule.kind == "date_rule":
        local = schedule.local_time()
        assert local is not None
        return CronTrigger(hour=local.hour, minute=local.minute, timezone=schedule.fire_zone())
    upcoming = schedule.next_firings(now, 1)
    return DateTrigger(run_date=upcoming[0]) if upcoming else None


def _fingerprint(schedule: dict[str, Any], trigger: BaseTrigger) -> str:
    text = json.dumps(schedule, sort_keys=True) + str(trigger)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sync_campaign_jobs(scheduler: BaseScheduler, scheduled: list[tuple[int, dict[str, Any]]], *, now: datetime,
                       grace_seconds: int, jobstore: str = "default") -> tuple[int, int]:
    """Make the job store hold exactly one job per campaign in `scheduled` ((id, stored schedule) pairs).

    Returns (jobs added or replaced, jobs removed). A job whose schedule is unchanged is left alone, so
    APScheduler keeps its next run time.
    """
    wanted: dict[str, tuple[int, BaseTrigger, str]] = {}
    for campaign_id, stored in scheduled:
        schedule = schedule_of(stored)
        if schedule is None:
            continue
        trigger = trigger_for(schedule, now=now)
        if trigger is not None:
            wanted[job_id(campaign_id)] = (campaign_id, trigger, _fingerprint(stored, trigger))
    existing = {job.id: job for job in scheduler.get_jobs(jobstore=jobstore) if job.id.startswith(JOB_PREFIX)}
    removed = 0
    for stale in sorted(set(existing) - set(wanted)):
        scheduler.remove_job(stale, jobstore=jobstore)
        removed += 1
        log.info("event=campaign_job_removed job_id=%s", stale)
    changed = 0
    for identifier, (campaign_id, trigger, fingerprint) in wanted.items():
        job = existing.get(identifier)
        if job is not None and job.name == fingerprint:
            continue
        scheduler.add_job(FIRE_JOB, trigger, args=[campaign_id], id=identifier, name=fingerprint, jobstore=jobstore,
                          replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=grace_seconds)
        changed += 1
        log.info("event=campaign_job_set job_id=%s trigger=%s", identifier, trigger)
    return changed, removed


def add_campaign_sync(scheduler: BaseScheduler) -> None:
    """Add the reconcile pass: in memory (re-added at every start), first run at start-up, so a restarted
    scheduler catches up at once — firing what is still within the grace window, recording what is not."""
    scheduler.add_job(SYNC_JOB, "interval", seconds=SYNC_SECONDS, id="sync_campaigns", jobstore="memory",
                      replace_existing=True, coalesce=True, max_instances=1, next_run_time=datetime.now(UTC))
