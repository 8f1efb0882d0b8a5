"""The jobs APScheduler runs. Their names are an API: the job store keeps `scheduler.jobs:<name>`,
so renaming one breaks schedules already stored (a rename needs a migration of apscheduler_jobs).

Jobs take only plain values and reach the database through the process's bound context: a job
store must never pickle an engine or an ORM object.

Every job is fenced (scheduler/fence.py): it does nothing unless this process still leads, asked in
the job's own transaction, and the jobs no unique key protects (weekly report, RFM scoring, mailbox
polling) run at most once per firing time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.orm import Session

import audiences.imports
import campaigns.ab_test
import campaigns.journeys
import campaigns.results.report_effect
import campaigns.results.report_mail
import campaigns.results.rfm
from campaigns import ChannelUnavailable, due_scheduled_campaigns, fire_scheduled_campaign, release_expired_leases
from campaigns.delivery.reconcile import reconcile_with_config
from campaigns.delivery.sender import describe_channel, has_due_messages
from campaigns.notices import OTHER_CHANNEL
from campaigns.responses.mailbox import handle_mailbox_message
from channels import ChannelConfigError, open_channel
from channels.mailbox import MailboxUnavailable, open_mailbox
from core.clock import Clock
from core.config import Config
from core.db import Database
from core.errors import HeraldError
from scheduler.campaign_jobs import sync_campaign_jobs
from scheduler.fence import claim_firing, current_firing
from scheduler.leader import LeaderLock

log = logging.getLogger("herald.scheduler")


@dataclass
class JobContext:
    config: Config
    database: Database
    clock: Clock
    wake: Callable[[], None] | None = None  # how to wake the senders (Celery in scaled mode)
    scheduler: BaseScheduler | None = None  # the running scheduler, whose campaign jobs sync_campaigns keeps
    leader: LeaderLock | None = None  # the lock this process leads by (scaled mode); None: the only scheduler


_context: JobContext | None = None


def bind(context: JobContext | None) -> None:
    """Give this process's jobs their database and clock (done by whoever starts the scheduler)."""
    global _context
    _context = context


def _ctx() -> JobContext:
    if _context is None:
        raise RuntimeError("scheduler jobs ran before scheduler.jobs.bind(); start them through EmbeddedRunner")
    return _context


NOT_LEADING = "not leading"
FALLBACK_SECONDS = 30
ALREADY_RUN = "already run"


def _may_run(ctx: JobContext, session: Session, *, once_per_firing: bool = False) -> str:
    """The fence, in the job's transaction: "" when the job may go on, else why not (NOT_LEADING, or
    ALREADY_RUN for a firing some scheduler has run). A job run by hand (no firing) is not claimed."""
    firing = current_firing()
    job_id = firing[0] if firing else "-"
    if ctx.leader is not None and not ctx.leader.held_in(session):
        session.rollback()
        log.warning("event=job_fenced job_id=%s reason=\"this scheduler no longer holds the leader lock\"", job_id)
        return NOT_LEADING
    if once_per_firing and firing is not None and not claim_firing(session, job_id=job_id, fire_time=firing[1],
                                                                   now=ctx.clock.now()):
        session.rollback()
        log.info("event=job_firing_already_run job_id=%s fire_time=%s", job_id, firing[1].isoformat())
        return ALREADY_RUN
    return ""


def release_leases() -> int:
    """Housekeeping: settle messages whose sender died after claiming them (DESIGN §3)."""
    ctx = _ctx()
    with ctx.database.session() as session:
        if _may_run(ctx, session):
            return 0
        count = release_expired_leases(session, now=ctx.clock.now())
    if count:
        log.warning("event=leases_released count=%d", count)
    return count


def reconcile_unknown_messages() -> str:
    """Every 5 minutes: ask the providers what became of `unknown` messages and settle them
    (campaigns/delivery/reconcile.py)."""
    ctx = _ctx()
    with ctx.database.session() as session:
        if fenced := _may_run(ctx, session, once_per_firing=True):
            return fenced
        session.commit()  # the firing is claimed before asking: the providers are asked once per firing
    try:
        result = reconcile_with_config(ctx.config, ctx.database, ctx.clock)
    except ChannelConfigError as exc:
        log.error("event=reconcile_misconfigured reason=%r", str(exc))
        return "misconfigured"
    if result.resolved or result.unresolved:
        log.info("event=unknown_reconciled sent=%d not_received=%d resent=%d unresolved=%d cannot_ask=%d",
                 result.sent, result.not_received, result.resent, result.unresolved, result.cannot_ask)
    return result.summary()


def add_reconciling(scheduler: BaseScheduler) -> None:
    """Ask the providers about unknown messages every 5 minutes (those unknown for 10 minutes or more)."""
    scheduler.add_job("scheduler.jobs:reconcile_unknown_messages", "interval", minutes=5,
                      id="housekeeping.reconcile_unknown", replace_existing=True)


def score_contacts() -> str:
    """Daily: RFM scores from conversions and the dormant rule (campaigns/results/rfm.py)."""
    ctx = _ctx()
    with ctx.database.session() as session:
        if fenced := _may_run(ctx, session, once_per_firing=True):
            return fenced
        # score_contacts commits, and with its scores the claim of this firing.
        result = campaigns.results.rfm.score_contacts(session, now=ctx.clock.now(),
                                                      dormant_days=ctx.config.dormant_days)
    log.info("event=contacts_scored scored=%d cleared=%d dormant=%d", result.scored, result.cleared, result.dormant)
    return str(result)


def add_contact_scoring(scheduler: BaseScheduler) -> None:
    """Run score_contacts every night at 03:17 UTC (a quiet hour, off the round minute every cron uses).

    A scheduler that was down at that time still runs it once within 12 hours, then waits for the next night.
    """
    scheduler.add_job("scheduler.jobs:score_contacts", "cron", hour=3, minute=17, id="housekeeping.score_contacts",
                      misfire_grace_time=12 * 3600, replace_existing=True)


def remove_stale_uploads() -> int:
    """Hourly: delete web import uploads and their state files untouched for [imports] keep_uploads_hours
    (they hold contacts' personal data; audiences/imports/uploads.py)."""
    ctx = _ctx()
    return audiences.imports.remove_stale_uploads(Path(ctx.config.data_dir) / "imports", now=ctx.clock.now(),
                                                         keep_hours=ctx.config.imports.keep_uploads_hours)


def add_upload_cleanup(scheduler: BaseScheduler) -> None:
    """Run remove_stale_uploads every hour, at minute 41 (off the minutes other jobs use)."""
    scheduler.add_job("scheduler.jobs:remove_stale_uploads", "cron", minute=41,
                      id="housekeeping.remove_stale_uploads", replace_existing=True)


def decide_ab_tests() -> int:
    """Every 5 minutes: A/B tests whose test phase has run its hours get their winner, sent to the rest."""
    ctx = _ctx()
    decided = 0
    with ctx.database.session() as session:
        if _may_run(ctx, session):
            return 0
        for campaign_id in campaigns.ab_test.due_ab_tests(session, now=ctx.clock.now()):
            metric = campaigns.get_campaign(session, campaign_id).ab_metric
            scores = {v: value for v, (value, *_rest) in
                      campaigns.results.report_effect.variant_scores(session, campaign_id, metric).items()}
            try:
                winner = campaigns.ab_test.choose_winner(session, campaign_id, now=ctx.clock.now(), results=scores)
            except HeraldError as exc:  # chosen by hand meanwhile, or the campaign was changed
                session.rollback()
                log.warning("event=ab_winner_skipped campaign_id=%d reason=%r", campaign_id, exc.message)
                continue
            decided += 1
            log.info("event=ab_winner campaign_id=%d variant=%s metric=%s", campaign_id, winner.label, metric)
    if decided and ctx.wake is not None:
        ctx.wake()
    return decided


def send_weekly_report() -> str:
    """Weekly: the last seven days' overview emailed to the users in [reports] weekly_to."""
    ctx = _ctx()
    settings = ctx.config.channels.get("email")
    if not ctx.config.weekly_report_to or settings is None:
        return "off"
    with ctx.database.session() as session:
        if fenced := _may_run(ctx, session, once_per_firing=True):
            return fenced
        # Committed before mailing: a mail cannot be taken back, so a firing is mailed at most once — a
        # crash while mailing skips that week's report rather than risk sending it twice.
        session.commit()
    try:
        channel = open_channel(str(settings.url), from_address=settings.from_address, setting="email")
    except ChannelConfigError as exc:
        log.error("event=weekly_report_failed reason=%r", str(exc))
        return "misconfigured"
    try:
        with ctx.database.session() as session:
            sent, refused = campaigns.results.report_mail.send_weekly_report(
                session, channel, emails=ctx.config.weekly_report_to, now=ctx.clock.now(),
                settings=campaigns.ReportSettings.from_config(ctx.config), base_url=ctx.config.base_url)
    finally:
        channel.close()
    log.info("event=weekly_report_sent sent=%d refused=%d", sent, refused)
    return f"sent {sent}, refused {refused}"


def add_report_jobs(scheduler: BaseScheduler, config: Config) -> None:
    """A/B decisions every 5 minutes; the weekly report on [reports] weekly_day at weekly_hour (UTC), if wanted."""
    scheduler.add_job("scheduler.jobs:decide_ab_tests", "interval", minutes=5, id="reports.decide_ab_tests",
                      replace_existing=True)
    if config.weekly_report_to:
        scheduler.add_job("scheduler.jobs:send_weekly_report", "cron", day_of_week=config.weekly_report_day,
                          hour=config.weekly_report_hour, minute=0, id="reports.weekly",
                          misfire_grace_time=6 * 3600, replace_existing=True)


def read_bounce_mailbox() -> str:
    """Every [bounces] mailbox_minutes: bounce reports and List-Unsubscribe mail (campaigns/responses/mailbox.py)."""
    ctx = _ctx()
    url = str(ctx.config.email.mailbox_url)
    if not url:
        return "off"
    with ctx.database.session() as session:
        if fenced := _may_run(ctx, session, once_per_firing=True):
            return fenced
        session.commit()  # the firing is claimed before reading: one scheduler reads the mailbox per firing
    try:
        mailbox = open_mailbox(url)
    except ChannelConfigError as exc:
        log.error("event=mailbox_misconfigured reason=%r", str(exc))
        return "misconfigured"

    def handle(raw: bytes) -> bool:
        with ctx.database.session() as session:
            return bool(handle_mailbox_message(session, raw, secret_key=str(ctx.config.secret_key),
                                               now=ctx.clock.now()))

    try:
        run = mailbox.read(handle)
    except MailboxUnavailable as exc:  # the next run tries again; nothing was deleted that was not applied
        log.warning("event=mailbox_unavailable reason=%r", str(exc))
        return "unavailable"
    log.info("event=mailbox_read read=%d understood=%d left=%d", run.read, run.understood, run.left)
    return f"read {run.read}, understood {run.understood}, left {run.left}"


def add_mailbox_reading(scheduler: BaseScheduler, config: Config) -> None:
    """Read the bounce mailbox every [bounces] mailbox_minutes, when [bounces] mailbox_url is set."""
    if str(config.email.mailbox_url):
        scheduler.add_job("scheduler.jobs:read_bounce_mailbox", "interval", minutes=config.email.mailbox_minutes,
                          id="housekeeping.read_bounce_mailbox", replace_existing=True)


def advance_journeys() -> str:
    """Every minute: journeys take their entries and move their enrolments (campaigns/journeys/engine.py).

    Fenced and claimed once per firing; the engine's own batches are idempotent besides (transitions.py),
    so a second scheduler that got past the fence would take other rows, never the same ones twice."""
    ctx = _ctx()
    with ctx.database.session() as session:
        if fenced := _may_run(ctx, session, once_per_firing=True):
            return fenced
        session.commit()
    try:
        settings = campaigns.journeys.SendSettings.from_config(ctx.config)
    except ChannelUnavailable as exc:
        log.error("event=journeys_misconfigured reason=%r", exc.message)
        return "misconfigured"
    with ctx.database.session() as session:
        done = campaigns.journeys.advance_journeys(session, now=ctx.clock.now(), settings=settings)
    if done.entered or done.moved or done.finished:
        log.info("event=journeys_advanced entered=%d moved=%d finished=%s", done.entered, done.moved,
                 ",".join(f"{k}:{v}" for k, v in sorted(done.finished.items())) or "-")
    if done.moved and ctx.wake is not None:
        ctx.wake()  # a send step queued messages
    return f"entered {done.entered}, moved {done.moved}"


def add_journey_job(scheduler: BaseScheduler) -> None:
    """Advance journeys every minute."""
    scheduler.add_job("scheduler.jobs:advance_journeys", "interval", minutes=1, id="journeys.advance",
                      replace_existing=True)


def wake_if_due() -> bool:
    """Wake the senders when any message is due now (new sends, or retries whose backoff has passed)."""
    ctx = _ctx()
    with ctx.database.session() as session:
        if _may_run(ctx, session):
            return False
        due = has_due_messages(session, now=ctx.clock.now())
    if due and ctx.wake is not None:
        ctx.wake()
    return due


def fire_campaign(campaign_id: int) -> bool:
    """A scheduled campaign's alarm: fire what is due (campaigns/firing.py decides); True if a run was made.

    A domain error (a channel that cannot be opened, a deleted segment) is logged and the firing tried
    again at the next wake-up (sync_campaigns), until it is beyond the grace window and recorded missed.
    """
    ctx = _ctx()
    try:
        with ctx.database.session() as session:
            if _may_run(ctx, session):
                return False
            firing = fire_scheduled_campaign(session, campaign_id, config=ctx.config, now=ctx.clock.now())
    except HeraldError as exc:  # a channel that cannot be opened, a segment deleted since: said, tried again
        log.error("event=firing_failed campaign_id=%d error=%s", campaign_id, exc.message)
        return False
    if firing.run is not None and not firing.missed and ctx.wake is not None:
        ctx.wake()
    return firing.run is not None


def send_planned_fallbacks() -> int:
    """Every FALLBACK_SECONDS: event notices whose planned fallback is due are re-sent by the other channel to
    everyone not delivered (campaigns/notices.py). Fenced by the leader lock; exactly once per notice by the
    unique fallback_of_id, so two schedulers (or a click on the page meanwhile) cannot double it. Returns
    how many fallbacks this run made."""
    ctx = _ctx()
    made = 0
    with ctx.database.session() as session:
        if _may_run(ctx, session):
            return 0
        due = campaigns.due_planned_fallbacks(session, now=ctx.clock.now())
        session.rollback()  # end the read: on SQLite an open transaction holds the lock the re-send needs
    for notice_id in due:
        try:
            with ctx.database.session() as session:
                if _may_run(ctx, session):
                    return made
                notice = campaigns.get_campaign(session, notice_id)
                description, dry_run = describe_channel(ctx.config, OTHER_CHANNEL[notice.channel])
                fallback = campaigns.send_planned_fallback(session, notice_id, now=ctx.clock.now(),
                                                           channel_description=description, dry_run=dry_run)
        except HeraldError as exc:  # a channel that cannot be opened, a template changed: said, tried again
            log.error("event=fallback_failed campaign_id=%d error=%s", notice_id, exc.message)
            continue
        if fallback is not None:
            made += 1
            log.info("event=fallback_sent campaign_id=%d fallback_id=%d recipients=%d", notice_id,
                     fallback.campaign.id, fallback.recipients)
    if made and ctx.wake is not None:
        ctx.wake()
    return made


def add_fallback_sending(scheduler: BaseScheduler) -> None:
    """Send due planned fallbacks every FALLBACK_SECONDS (a notice's fallback is minutes away, so this is the
    most it is late)."""
    scheduler.add_job("scheduler.jobs:send_planned_fallbacks", "interval", seconds=FALLBACK_SECONDS,
                      id="notices.send_planned_fallbacks", replace_existing=True, coalesce=True, max_instances=1)


def sync_campaigns() -> int:
    """Keep one job per scheduled campaign (scheduler/campaign_jobs.py), then fire whatever is due and was
    not woken — after a restart, or a firing the job store dropped as too late (it is recorded as missed).
    Returns the runs made."""
    ctx = _ctx()
    with ctx.database.session() as session:
        if _may_run(ctx, session):
            return 0
        scheduled = due_scheduled_campaigns(session)
    if ctx.scheduler is not None:
        sync_campaign_jobs(ctx.scheduler, scheduled, now=ctx.clock.now(),
                           grace_seconds=max(1, ctx.config.misfire_grace_seconds))
    return sum(fire_campaign(campaign_id) for campaign_id, _schedule in scheduled)
