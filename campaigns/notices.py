"""Event notices: urgent messages to a list or segment, now, ahead of marketing traffic.

A notice is a campaign of kind `event_notice`: its messages are queued at NOTICE_PRIORITY (the claim
takes them before any marketing message already waiting), frequency caps and quiet hours do not
apply, and its delivery guarantee defaults to at-least-once (DESIGN §3): for a gate change a
duplicate is better than a loss. It respects opt-outs unless the sender marks it operational.

The fallback: after N minutes, one click re-sends it through the other channel (SMS -> email or
email -> SMS) to every recipient the first channel has not delivered to. The re-send is a campaign
of its own (kind event_notice, `fallback_of_id` pointing at the notice), with its own run and
report, so the notice's numbers stay about the first channel and both can be read side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import literal, or_, select
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


def create_event_notice(session: Session, *, name: str, channel: str, template_id: int, list_id: int | None = None,
                        segment_id: int | None = None, operational: bool = False,
                        guarantee: str = "at_least_once", created_by: int | None = None,
                        now: datetime) -> Campaign:
    """Create a draft event notice (send it with send_campaign); commits. Raises what create_campaign raises."""
    campaign = create_campaign(session, name=name, channel=channel, template_id=template_id, list_id=list_id,
                               segment_id=segment_id, operational=operational, ignore_caps=True,
                               guarantee=guarantee, created_by=created_by, now=now)
    campaign.kind = EVENT_NOTICE
    session.commit()
    return campaign


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
    notice = get_campaign(session, campaign_id)
    if notice.kind != EVENT_NOTICE:
        raise Conflict(f'campaign {notice.id} "{notice.name}" is not an event notice; only event notices can be '
                       "re-sent through a fallback channel")
    if notice.status not in ("running", "paused", "completed", "failed"):  # failed: nothing got through
        raise Conflict(f'event notice {notice.id} "{notice.name}" is {notice.status}; send it first, then re-send '
                       "what was not delivered")
    existing = session.scalar(select(Campaign).where(Campaign.fallback_of_id == notice.id))
    if existing is not None:
        raise Conflict(f'event notice {notice.id} "{notice.name}" was already re-sent as campaign {existing.id} '
                       f'"{existing.name}"; see its progress there')
    other = OTHER_CHANNEL[notice.channel]
    template = session.get(Template, template_id)
    if template is None or template.channel != other:
        raise Invalid(f"the fallback goes by {other}: pick an {other} template"
                      + (f" (template {template_id} is for {template.channel})" if template else
                         f" (template {template_id} does not exist)"), field="template_id")
    if after_minutes < 0:
        raise Invalid(f"wait at least 0 minutes before the fallback, not {after_minutes}", field="after_minutes")
    fallback = Campaign(name=f"{notice.name} ({other} fallback)"[:200], kind=EVENT_NOTICE, channel=other,
                        template_id=template.id, list_id=notice.list_id, segment_id=notice.segment_id,
                        operational=notice.operational, ignore_caps=True, guarantee=notice.guarantee,
                        fallback_of_id=notice.id, status="running", created_by=user_id, created_at=now,
                        updated_at=now)
    session.add(fallback)
    session.flush()
    comment = (f"fallback of event notice {notice.id}: re-sent by {other} to everyone not delivered by "
               f"{notice.channel} after {after_minutes} minutes")
    record_transition(session, campaign_id=fallback.id, from_status="", to_status="running", user_id=user_id,
                      now=now, comment=comment)
    run = Run(campaign_id=fallback.id, occasion_key="once", status="running", channel_url=channel_description[:300],
              dry_run=dry_run, started_at=now)
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f'event notice {notice.id} "{notice.name}" is being re-sent already') from None
    who = undelivered_contacts(notice.id, before=now - timedelta(minutes=after_minutes))
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
