"""Scheduling a campaign and firing it: each firing of its schedule becomes a Run, once.

The scheduler (scheduler/campaign_jobs.py) only wakes `fire_due_campaign` up; what is due is decided
here from the rows, so a job that runs twice, late, or on two machines at once fires each occasion at
most once: a run's (campaign_id, occasion_key) is unique, and a date rule's per-contact occasion
(campaign_occasions) is taken before the contact's message is written, in the same transaction.

Misfires, decided deliberately (the APScheduler job mirrors it: coalesce=True, misfire_grace_time):
the firings due since the last one are coalesced into the latest; if that one is still within the
grace window it fires now, and its run's notes say how late and why; if not, a `missed` run records
that nothing was sent and why, so nobody gets yesterday's greeting a day late — and the page says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences import contacts_with_date_on, month_day_keys
from campaigns import queries
from campaigns.audience.caps import FrequencyCap
from campaigns.audience.materialise import materialise_run
from campaigns.audience.recipients import recipients_select
from campaigns.audience.send_time import Timing
from campaigns.delivery.sender import describe_channel
from campaigns.models import Campaign, CampaignOccasion, CampaignTransition, Run
from campaigns.schedules import Schedule, ScheduleDefaults, schedule_of, send_now_timing
from campaigns.states import check_campaign_editable, move_campaign
from core.config import Config
from core.db import UTCDateTime
from core.errors import Conflict, Invalid, NotFound

log = logging.getLogger("herald.campaigns")

KIND_OF_SCHEDULE = {None: "broadcast", "at": "broadcast", "recurring": "recurring", "date_rule": "date_rule",
                    "holiday": "holiday"}
# A scheduler down for a year under a once-a-minute rule must not loop for ever counting what it missed.
_MAX_FIRINGS_SCANNED = 100_000
_WHY_LATE = "the scheduler was not running, or the campaign was paused"


def _campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist; see the campaign list for the ids that do")
    return campaign


def set_campaign_schedule(session: Session, campaign_id: int, schedule: Schedule | None, *, now: datetime) -> Campaign:
    """Give a draft its schedule (None: it sends when someone presses Send now); commits.

    Sets the campaign's kind to match. Raises NotFound, CampaignNotEditable past draft, or Invalid for
    an event notice (it goes now, never on a schedule).
    """
    campaign = _campaign(session, campaign_id)
    check_campaign_editable(campaign)
    if schedule is not None and campaign.kind == "event_notice":
        raise Invalid(f'campaign {campaign_id} "{campaign.name}" is an event notice, which is sent at once; make a '
                      "broadcast campaign to send at a time", field="schedule")
    campaign.schedule = schedule.to_dict() if schedule is not None else None
    if campaign.kind != "event_notice":
        campaign.kind = KIND_OF_SCHEDULE[schedule.kind if schedule else None]
    campaign.updated_at = now
    session.commit()
    return campaign


def schedule_campaign(session: Session, campaign_id: int, *, now: datetime, user_id: int | None = None,
                      approval_required: bool = False) -> Campaign:
    """Arm a draft's schedule: draft -> scheduled, from which the scheduler fires it; commits.

    With approval required the draft is submitted for approval instead (campaigns/states.py), and
    approval arms it. Raises NotFound; Conflict if it has no schedule, is not a draft, or its time has
    passed (say "send now" instead).
    """
    campaign = _campaign(session, campaign_id)
    schedule = schedule_of(campaign.schedule)
    if schedule is None:
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" has no schedule; give it one, or send it now')
    if approval_required:
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" needs approval first; submit it for approval — '
                       "once approved it sends on its schedule")
    if not schedule.next_firings(now, 1):
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" is scheduled {schedule.describe()}, which is '
                       "already past; pick a later time, or send it now")
    move_campaign(session, campaign, allowed_from=("draft",), to_status="scheduled", user_id=user_id, now=now,
                  comment=f"scheduled {schedule.describe()}",
                  refusal='campaign {id} "{name}" is {status}; only a draft can be scheduled')
    session.commit()
    return campaign


def next_firings(session: Session, campaign: Campaign, *, now: datetime, count: int = 10) -> list[datetime]:
    """The campaign's next `count` firings after now (empty without a schedule, or once it is finished)."""
    schedule = schedule_of(campaign.schedule)
    if schedule is None or campaign.status in ("completed", "cancelled", "failed"):
        return []
    fired = _runs_fired(session, campaign.id)
    if schedule.max_runs is not None:
        count = min(count, max(0, schedule.max_runs - fired))
    return schedule.next_firings(max(now, _last_firing(session, campaign) or now), count) if count else []


def firings_until(session: Session, campaign: Campaign, *, now: datetime, until: datetime,
                  limit: int = 1000) -> list[datetime]:
    """The campaign's firings after `now` and before `until` (at most `limit`, and no more than its runs left),
    as next_firings counts them: the send calendar reads a month of them without generating a year."""
    schedule = schedule_of(campaign.schedule)
    if schedule is None or campaign.status in ("completed", "cancelled", "failed"):
        return []
    if schedule.max_runs is not None:
        limit = min(limit, max(0, schedule.max_runs - _runs_fired(session, campaign.id)))
    found: list[datetime] = []
    for instant in schedule.firings(max(now, _last_firing(session, campaign) or now)):
        if instant >= until or len(found) >= limit:
            break
        found.append(instant)
    return found


def planned_timing(session: Session, campaign: Campaign, *, defaults: ScheduleDefaults,
                   now: datetime) -> tuple[Timing, datetime]:
    """When the campaign's next run would send, for the pre-send estimate: its Timing and the moment it
    is materialised — the next firing for a schedule (now if none is left), else now with quiet hours."""
    schedule = schedule_of(campaign.schedule)
    if schedule is None:
        return send_now_timing(campaign, defaults), now
    upcoming = next_firings(session, campaign, now=now, count=1) or [now]
    return _timing(campaign, schedule, upcoming[0], defaults), max(upcoming[0], now)


def _timing(campaign: Campaign, schedule: Schedule, firing: datetime, defaults: ScheduleDefaults) -> Timing:
    day = schedule.day_of(firing) if schedule.kind != "recurring" else None
    return Timing(default_zone=defaults.default_zone, sender_zone=schedule.time_zone, day=day,
                  at=schedule.local_time() if day else None, per_recipient=schedule.per_recipient,
                  quiet=None if campaign.kind == "event_notice" else schedule.quiet(defaults))


@dataclass(frozen=True)
class Firing:
    """What fire_due_campaign did: the run it made (None: nothing was due), and whether it was missed."""

    run: Run | None
    missed: bool = False


def fire_due_campaign(session: Session, campaign_id: int, *, now: datetime, channel_description: str, dry_run: bool,
                      defaults: ScheduleDefaults, cap: FrequencyCap | None = None) -> Firing:
    """Fire the campaign's latest due firing (see the module doc for misfires); commits.

    `cap` is the configured frequency cap ([caps] in config.toml), as a Send now uses; None means
    FrequencyCap's built-in defaults.

    A scheduled campaign with a schedule fires, and so does a running one whose schedule has firings
    left (a run still sending, or waiting for its recipients' local time); a paused one does not. A
    firing moves the campaign to running; when its runs finish it is scheduled again until the last
    firing's run, then completed (queries.finish_idle_runs, by next_fire_at).
    """
    campaign = _campaign(session, campaign_id)
    schedule = schedule_of(campaign.schedule)
    if schedule is None or not _fires(campaign):
        return Firing(None)
    due = _due_firings(session, campaign, schedule, now)
    if not due:
        return Firing(None)
    latest, earlier = due[-1], due[:-1]
    grace = timedelta(seconds=defaults.grace_seconds)
    notes = []
    if earlier and schedule.kind == "recurring":
        notes.append(f"{len(earlier)} earlier firing(s) from {_iso(earlier[0])} to {_iso(earlier[-1])} were not "
                     f"sent on their own ({_WHY_LATE}); they are coalesced into this one")
    elif earlier:  # each day of a date rule or holiday greets other people: say whose day was missed
        days = ", ".join(schedule.day_of(f).isoformat() for f in earlier[-5:])
        notes.append(f"{len(earlier)} earlier day(s) were missed ({_WHY_LATE}; last: {days}); nothing was sent "
                     "for them")
    late = now - latest
    if late > grace:
        notes.append(f"missed: due at {_iso(latest)}, the scheduler only ran at {_iso(now)} ({_duration(late)} "
                     f"late), beyond the grace window of {_duration(grace)}, so nothing was sent — "
                     "keep `herald scheduler` (or `herald serve`) running, or raise [scheduler] misfire_grace_seconds")
        run = _record_missed(session, campaign, schedule, latest, now, notes)
        log.warning("event=firing_missed campaign_id=%d fired_at=%s late_seconds=%d", campaign.id, _iso(latest),
                    late.total_seconds())
        _finish_if_last(session, campaign, schedule, latest, now)
        session.commit()
        return Firing(run, missed=True)
    if late >= _NOTED_LATENESS:
        notes.append(f"fired {_duration(late)} late (due at {_iso(latest)}; {_WHY_LATE}); "
                     f"within the grace window of {_duration(grace)}, so it was sent once, now")
    return Firing(_fire(session, campaign, schedule, latest, now, notes, channel_description, dry_run, defaults,
                        cap))


def _due_firings(session: Session, campaign: Campaign, schedule: Schedule, now: datetime) -> list[datetime]:
    """The firings after the last one handled, up to now (oldest first)."""
    since = _last_firing(session, campaign) or campaign.created_at
    due: list[datetime] = []
    for instant in schedule.firings(since):
        if instant > now or len(due) >= _MAX_FIRINGS_SCANNED:
            break
        due.append(instant)
    return due


def _fire(session: Session, campaign: Campaign, schedule: Schedule, firing: datetime, now: datetime,
          notes: list[str], channel_description: str, dry_run: bool, defaults: ScheduleDefaults,
          cap: FrequencyCap | None = None) -> Run | None:
    last = _is_last(session, campaign, schedule, firing)
    run = Run(campaign_id=campaign.id, occasion_key=_occasion_key(schedule, firing), status="running",
              channel_url=channel_description[:300], dry_run=dry_run, started_at=now, fired_at=firing,
              notes="\n".join(notes) or None)
    session.add(run)
    try:
        # The run first: its unique (campaign_id, occasion_key) picks the one scheduler that fires this
        # occasion; a second one waits here for the first to commit, then gives up.
        session.flush()
        if campaign.status == "scheduled":
            move_campaign(session, campaign, allowed_from=("scheduled",), to_status="running", user_id=None,
                          now=now, comment="last firing of its schedule" if last else f"fired {run.occasion_key}",
                          refusal='campaign {id} "{name}" is {status}; only a scheduled campaign fires')
    except (IntegrityError, Conflict):
        session.rollback()  # another scheduler (or a Send now, or a cancel) got there first
        log.info("event=firing_already_done campaign_id=%d occasion=%s", campaign.id, _occasion_key(schedule, firing))
        return None
    campaign.next_fire_at = None if last else schedule.next_firings(firing, 1)[0]
    timing = _timing(campaign, schedule, firing, defaults)
    only = None
    if schedule.kind == "date_rule":
        only = _take_occasions(session, campaign, schedule, run, schedule.day_of(firing), now, defaults)
    written = materialise_run(session, run=run, campaign=campaign, now=now, cap=cap, timing=timing,
                              only_contacts=only)
    queries.finish_idle_runs(session, [run.id], now=now)
    session.refresh(run)
    session.commit()
    log.info("event=campaign_fired campaign_id=%d run_id=%d occasion=%s messages=%d", campaign.id, run.id,
             run.occasion_key, written)
    return run


def _take_occasions(session: Session, campaign: Campaign, schedule: Schedule, run: Run, day: date, now: datetime,
                    defaults: ScheduleDefaults) -> Any:
    """Claim (campaign, contact, occasion) for each recipient whose date is `day`; returns who this run got.

    ONE INSERT … SELECT … ON CONFLICT DO NOTHING: a contact greeted for this occasion already (by an
    earlier run, or a concurrent one) keeps the row it has, and is left out of this run.
    """
    target, matching = schedule.dates_greeted_on(day, defaults.feb29)
    occasion = f"{schedule.date_source}:{target.year}"
    recipients = recipients_select(session, campaign, now=now).subquery("recipients")
    rows = select(literal(campaign.id), recipients.c.contact_id, literal(occasion), literal(run.id),
                  literal(now, UTCDateTime())).where(
        recipients.c.contact_id.in_(contacts_with_date_on(str(schedule.date_source), month_day_keys(matching))))
    columns = ["campaign_id", "contact_id", "occasion", "run_id", "created_at"]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(CampaignOccasion).from_select(columns, rows).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(CampaignOccasion).from_select(columns, rows).on_conflict_do_nothing()
    else:  # pragma: no cover - Herald runs on SQLite and PostgreSQL only
        statement = insert(CampaignOccasion).from_select(columns, rows)
    session.execute(statement)
    return select(CampaignOccasion.contact_id).where(CampaignOccasion.run_id == run.id)


def _record_missed(session: Session, campaign: Campaign, schedule: Schedule, firing: datetime, now: datetime,
                   notes: list[str]) -> Run | None:
    run = Run(campaign_id=campaign.id, occasion_key=_occasion_key(schedule, firing), status="missed",
              channel_url="", dry_run=False, started_at=now, finished_at=now, fired_at=firing, notes="\n".join(notes))
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    return run


def _finish_if_last(session: Session, campaign: Campaign, schedule: Schedule, firing: datetime,
                    now: datetime) -> None:
    """After a missed firing: note the next one; after the last, complete the campaign (or let its open
    runs complete it)."""
    if not _is_last(session, campaign, schedule, firing):
        if campaign.status == "running":
            campaign.next_fire_at = schedule.next_firings(firing, 1)[0]
        return
    campaign.next_fire_at = None
    open_runs = session.scalar(select(func.count()).select_from(Run).where(
        Run.campaign_id == campaign.id, Run.status.in_(("running", "paused"))))
    target = "running" if open_runs else "completed"
    if campaign.status != target:
        move_campaign(session, campaign, allowed_from=("scheduled", "running"), to_status=target, user_id=None,
                      now=now, comment="last firing of its schedule",
                      refusal='campaign {id} "{name}" is {status}; only a scheduled campaign fires')


def _fires(campaign: Campaign) -> bool:
    return campaign.status == "scheduled" or (campaign.status == "running" and campaign.next_fire_at is not None)


def _is_last(session: Session, campaign: Campaign, schedule: Schedule, firing: datetime) -> bool:
    """Is `firing` the schedule's last (no firing after it, or the run count reached with it)?"""
    if schedule.max_runs is not None and _runs_fired(session, campaign.id) + 1 >= schedule.max_runs:
        return True
    return not schedule.next_firings(firing, 1)


def _runs_fired(session: Session, campaign_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Run).where(
        Run.campaign_id == campaign_id, Run.fired_at.is_not(None), Run.status != "missed")) or 0


def _last_firing(session: Session, campaign: Campaign) -> datetime | None:
    """The latest firing handled (fired or missed), else when the campaign was last scheduled: firings
    before that moment — while it was a draft, or waiting for approval — are not owed to anyone."""
    last = session.scalar(select(func.max(Run.fired_at)).where(Run.campaign_id == campaign.id))
    if last is not None:
        return last
    return session.scalar(select(func.max(CampaignTransition.at)).where(
        CampaignTransition.campaign_id == campaign.id, CampaignTransition.to_status == "scheduled"))


def _occasion_key(schedule: Schedule, firing: datetime) -> str:
    if schedule.kind == "at":
        return "once"
    if schedule.kind == "recurring":
        return _iso(firing)
    prefix = "date" if schedule.kind == "date_rule" else "holiday"
    return f"{prefix}:{schedule.day_of(firing).isoformat()}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


# A wake-up is always a few milliseconds late; from a second on, a marketer should be told (a grace
# window may itself be a few seconds).
_NOTED_LATENESS = timedelta(seconds=1)


def _duration(delta: timedelta) -> str:
    """'20 s' under a minute (a grace window may be seconds: '0 min' would hide it), else '1 h 5 min'."""
    if delta < timedelta(minutes=1):
        return f"{int(delta.total_seconds())} s"
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def fire_scheduled_campaign(session: Session, campaign_id: int, *, config: Config, now: datetime) -> Firing:
    """fire_due_campaign through the configured channel and settings (the scheduler's entry point).

    Raises ChannelUnavailable when the channel cannot be opened; nothing is recorded then, so the
    next wake-up tries again until the firing is beyond the grace window.
    """
    campaign = _campaign(session, campaign_id)
    schedule = schedule_of(campaign.schedule)
    # Checked before the channel is opened: the scheduler asks every few seconds, and is mostly told "not yet".
    if schedule is None or not _fires(campaign) or not _due_firings(session, campaign, schedule, now):
        session.rollback()  # end the read: on SQLite an open transaction holds the write lock
        return Firing(None)
    description, dry_run = describe_channel(config, campaign.channel)
    return fire_due_campaign(session, campaign_id, now=now, channel_description=description, dry_run=dry_run,
                             defaults=ScheduleDefaults.from_config(config),
                             cap=FrequencyCap(config.cap_messages, config.cap_days))


def due_scheduled_campaigns(session: Session) -> list[tuple[int, dict[str, Any]]]:
    """(id, stored schedule) of every campaign that can still fire: what the scheduler keeps jobs for."""
    rows = session.execute(select(Campaign.id, Campaign.schedule)
                           .where(Campaign.schedule.is_not(None),
                                  or_(Campaign.status == "scheduled",
                                      and_(Campaign.status == "running", Campaign.next_fire_at.is_not(None))))
                           .order_by(Campaign.id))
    return [(campaign_id, schedule) for campaign_id, schedule in rows if schedule]
