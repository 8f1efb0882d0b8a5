"""Event notices: urgent messages to a list or segment, now, ahead of marketing traffic.

A notice is a campaign of kind `event_notice`: its messages are queued at NOTICE_PRIORITY (the claim
takes them before any marketing message already waiting), frequency caps and quiet hours do not
apply, and its delivery guarantee defaults to at-least-once (DESIGN §3): for a gate change a
duplicate is better than a loss. It respects opt-outs unless the sender marks it operational.

The fallback re-sends it through the other channel (SMS -> email or email -> SMS) to every recipient
the first channel has not delivered to. It is chosen before sending — the other channel's template and
after how many minutes (`fallback_template_id`, `fallback_after_minutes`, checked by check_fallback_plan)
— and the scheduler sends it at that time (scheduler/jobs.py send_planned_fallbacks ->
send_planned_fallback here); or it is sent by one click on the campaign page (resend_undelivered). The
re-send is a campaign of its own (kind event_notice, `fallback_of_id` pointing at the notice), with its
own run and report, so the notice's numbers stay about the first channel and both can be read side by
side. `fallback_of_id` is unique: however many schedulers, and whatever someone clicks meanwhile, a
notice is re-sent at most once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences import Contact, audience_select
from campaigns import queries
from campaigns.audience import queries as audience_queries
from campaigns.audience.materialise import consent_exclusions
from campaigns.audience.priority import EVENT_NOTICE, NOTICE_PRIORITY
from campaigns.lifecycle import create_campaign, get_campaign
from campaigns.models import Campaign, Message, Run, Template
from campaigns.states import record_transition
from core.db import UTCDateTime
from core.errors import Conflict, Invalid

OTHER_CHANNEL = {"sms": "email", "email": "sms"}
# Statuses of a notice's message that the fallback re-sends: the provider refused it or never
# confirmed it (sent, unknown), or the first channel could not be used (no phone, opted out of SMS).
# Rows still pending or sending are in flight; capped/held_out do not occur for notices.
NOT_DELIVERED = ("sent", "failed", "unknown", "suppressed")
DEFAULT_FALLBACK_MINUTES = 10
MAX_FALLBACK_MINUTES = 7 * 24 * 60  # a week: a notice later than that is news, not a fallback
# A notice in these statuses has been sent (failed: nothing got through), so its fallback may go.
SENT_STATUSES = ("running", "paused", "completed", "failed")


def create_event_notice(session: Session, *, name: str, channel: str, template_id: int, list_id: int | None = None,
                        segment_id: int | None = None, operational: bool = False,
                        guarantee: str = "at_least_once", created_by: int | None = None,
                        fallback_template_id: int | None = None, fallback_after_minutes: int | None = None,
                        now: datetime) -> Campaign:
    """Create a draft event notice (send it with send_campaign); commits.

    With `fallback_template_id` (a template of the other channel) the fallback is planned now: the
    scheduler re-sends the notice by the other channel `fallback_after_minutes` (default
    DEFAULT_FALLBACK_MINUTES) after it starts sending. Raises what create_campaign raises, and Invalid
    for a fallback template of the wrong channel or minutes out of range (checked before anything is written).
    """
    if fallback_template_id is None and fallback_after_minutes is not None:
        raise Invalid("minutes for the fallback were given without its template; pick the other channel's "
                      "template too", field="fallback_template_id")
    if fallback_template_id is not None:
        fallback_after_minutes = check_fallback_plan(
            session, channel=channel, template_id=fallback_template_id,
            after_minutes=DEFAULT_FALLBACK_MINUTES if fallback_after_minutes is None else fallback_after_minutes)
    campaign = create_campaign(session, name=name, channel=channel, template_id=template_id, list_id=list_id,
                               segment_id=segment_id, operational=operational, ignore_caps=True,
                               guarantee=guarantee, created_by=created_by, now=now)
    campaign.kind = EVENT_NOTICE
    campaign.fallback_template_id = fallback_template_id
    campaign.fallback_after_minutes = fallback_after_minutes if fallback_template_id is not None else None
    session.commit()
    return campaign


def check_fallback_plan(session: Session, *, channel: str, template_id: int, after_minutes: int) -> int:
    """Check a fallback for a notice sent by `channel`: a template of the other channel, 0 to
    MAX_FALLBACK_MINUTES minutes. Returns the minutes; raises Invalid naming the field and the fix."""
    other = OTHER_CHANNEL.get(channel)
    if other is None:
        raise Invalid(f'channel "{channel}" has no other channel to fall back to; use sms or email', field="channel")
    template = session.get(Template, template_id)
    if template is None or template.channel != other:
        raise Invalid(f"the fallback goes by {other}: pick an {other} template"
                      + (f" (template {template_id} is for {template.channel})" if template else
                         f" (template {template_id} does not exist)"), field="fallback_template_id")
    if not 0 <= after_minutes <= MAX_FALLBACK_MINUTES:
        raise Invalid(f"the fallback waits {after_minutes} minutes; use 0 to {MAX_FALLBACK_MINUTES} (a week)",
                      field="fallback_after_minutes")
    return after_minutes


@dataclass(frozen=True)
class Fallback:
    campaign: Campaign  # the re-send, through the other channel
    run: Run
    recipients: int  # rows written (some may be suppressed on the other channel too)


def undelivered_contacts(campaign_id: int, *, before: datetime):
    """SQL: contacts of the notice not delivered to, whose message was handled before `before`."""
    return select(Message.contact_id).where(
        Message.campaign_id == campaign_id, Message.status.in_(NOT_DELIVERED),
        or_(Message.sent_at.is_(None), Message.sent_at <= before))


def resend_undelivered(session: Session, campaign_id: int, *, template_id: int, after_minutes: int, now: datetime,
                       channel_description: str, dry_run: bool, user_id: int | None = None) -> Fallback:
    """Re-send an event notice through the other channel to everyone not delivered `after_minutes` after
    their message went out; commits. Returns the fallback campaign, its run and how many rows it holds.

    Raises NotFound, Invalid (a template of the wrong channel, minutes below 0) or Conflict (not a sent
    event notice, or already re-sent: a second re-send would message the same people twice).
    """
    notice = _sent_notice(session, campaign_id)
    other = OTHER_CHANNEL[notice.channel]
    template = session.get(Template, template_id)
    if template is None or template.channel != other:
        raise Invalid(f"the fallback goes by {other}: pick an {other} template"
                      + (f" (template {template_id} is for {template.channel})" if template else
                         f" (template {template_id} does not exist)"), field="template_id")
    if after_minutes < 0:
        raise Invalid(f"wait at least 0 minutes before the fallback, not {after_minutes}", field="after_minutes")
    comment = (f"fallback of event notice {notice.id}: re-sent by {other} to everyone not delivered by "
               f"{notice.channel} after {after_minutes} minutes")
    return _resend(session, notice, template, before=now - timedelta(minutes=after_minutes), comment=comment,
                   now=now, channel_description=channel_description, dry_run=dry_run, user_id=user_id)


def planned_fallback_at(session: Session, notice: Campaign) -> datetime | None:
    """When the scheduler sends the notice's planned fallback: its first run's start plus the planned minutes.
    None when no fallback is planned, the notice has not started sending, or it has been re-sent already."""
    if notice.fallback_template_id is None or notice.fallback_after_minutes is None:
        return None
    started = session.scalar(select(func.min(Run.started_at)).where(Run.campaign_id == notice.id))
    if started is None or fallback_of(session, notice.id) is not None:
        return None
    return started + timedelta(minutes=notice.fallback_after_minutes)


def due_planned_fallbacks(session: Session, *, now: datetime) -> list[int]:
    """Ids of sent event notices whose planned fallback is due by `now` and not yet made, oldest first."""
    made = select(Campaign.fallback_of_id).where(Campaign.fallback_of_id.is_not(None))
    candidates = session.scalars(select(Campaign).where(
        Campaign.kind == EVENT_NOTICE, Campaign.fallback_template_id.is_not(None),
        Campaign.status.in_(SENT_STATUSES), Campaign.id.not_in(made)).order_by(Campaign.id))
    return [notice.id for notice in candidates if (at := planned_fallback_at(session, notice)) is not None
            and at <= now]


def send_planned_fallback(session: Session, campaign_id: int, *, now: datetime, channel_description: str,
                          dry_run: bool) -> Fallback | None:
    """Send the notice's planned fallback if it is due: by the other channel, with the planned template, to
    everyone the first channel had not delivered to by now (rows still pending or being sent at that
    moment are left to the first channel); commits. Returns None when there is nothing to do — not due,
    not planned, or already re-sent (by another scheduler, or by hand: the unique fallback_of_id decides).
    Raises NotFound, or Invalid when the planned template has since been changed to the other channel."""
    notice = get_campaign(session, campaign_id)
    due = planned_fallback_at(session, notice)
    if due is None or due > now or notice.status not in SENT_STATUSES:
        return None
    template = session.get(Template, notice.fallback_template_id)
    if template is None or template.channel != OTHER_CHANNEL[notice.channel]:
        raise Invalid(f'event notice {notice.id} "{notice.name}": its planned fallback template '
                      f"{notice.fallback_template_id} is no longer an {OTHER_CHANNEL[notice.channel]} template; "
                      "re-send by hand from the campaign page", field="fallback_template_id")
    comment = (f"planned fallback of event notice {notice.id}: re-sent by {template.channel} to everyone not "
               f"delivered by {notice.channel} {notice.fallback_after_minutes} minutes after it started")
    try:
        return _resend(session, notice, template, before=now, comment=comment, now=now,
                       channel_description=channel_description, dry_run=dry_run, user_id=None)
    except Conflict:
        return None  # made meanwhile, elsewhere: exactly once is the point


def _sent_notice(session: Session, campaign_id: int) -> Campaign:
    notice = get_campaign(session, campaign_id)
    if notice.kind != EVENT_NOTICE:
        raise Conflict(f'campaign {notice.id} "{notice.name}" is not an event notice; only event notices can be '
                       "re-sent through a fallback channel")
    if notice.status not in SENT_STATUSES:
        raise Conflict(f'event notice {notice.id} "{notice.name}" is {notice.status}; send it first, then re-send '
                       "what was not delivered")
    existing = fallback_of(session, notice.id)
    if existing is not None:
        raise Conflict(f'event notice {notice.id} "{notice.name}" was already re-sent as campaign {existing.id} '
                       f'"{existing.name}"; see its progress there')
    return notice


def _resend(session: Session, notice: Campaign, template: Template, *, before: datetime, comment: str,
            now: datetime, channel_description: str, dry_run: bool, user_id: int | None) -> Fallback:
    """Write the re-send: its campaign, run and rows for the notice's contacts not delivered, handled before
    `before`. The campaign insert is the once-only point: a second one breaks the unique fallback_of_id."""
    other = template.channel
    fallback = Campaign(name=f"{notice.name} ({other} fallback)"[:200], kind=EVENT_NOTICE, channel=other,
                        template_id=template.id, list_id=notice.list_id, segment_id=notice.segment_id,
                        operational=notice.operational, ignore_caps=True, guarantee=notice.guarantee,
                        fallback_of_id=notice.id, status="running", created_by=user_id, created_at=now,
                        updated_at=now)
    session.add(fallback)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f'event notice {notice.id} "{notice.name}" is being re-sent already') from None
    record_transition(session, campaign_id=fallback.id, from_status="", to_status="running", user_id=user_id,
                      now=now, comment=comment)
    run = Run(campaign_id=fallback.id, occasion_key="once", status="running", channel_url=channel_description[:300],
              dry_run=dry_run, started_at=now)
    session.add(run)
    session.flush()
    who = undelivered_contacts(notice.id, before=before)
    audience = (audience_select(None, other, operational=notice.operational)
                .where(Contact.id.in_(who)).subquery("audience"))
    rows = audience_queries.insert_run_messages(
        session, run_id=run.id, campaign_id=fallback.id, channel=other, audience=audience,
        exclusions=consent_exclusions(audience, other, operational=notice.operational), priority=NOTICE_PRIORITY,
        not_before=literal(now, UTCDateTime()), now=now)
    queries.finish_idle_runs(session, [run.id], now=now)
    session.refresh(run)
    session.refresh(fallback)
    session.commit()
    return Fallback(fallback, run, rows)


def fallback_of(session: Session, campaign_id: int) -> Campaign | None:
    """The fallback re-send of an event notice, if there is one."""
    return session.scalar(select(Campaign).where(Campaign.fallback_of_id == campaign_id))
