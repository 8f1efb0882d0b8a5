"""A campaign's life: created as a draft, sent (a run is materialised), completed or cancelled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences import ContactList
from campaigns import queries
from campaigns.materialise import materialise_run
from campaigns.models import CHANNELS, GUARANTEES, Campaign, Run, Template
from core.errors import Conflict, Invalid, NotFound

# Statuses from which a campaign can still be cancelled.
CANCELLABLE = ("draft", "scheduled", "running", "paused")


def create_campaign(session: Session, *, name: str, channel: str, template_id: int, list_id: int | None = None,
                    created_by: int | None = None, guarantee: str = "at_most_once", now: datetime) -> Campaign:
    """Create a draft campaign; commits.

    Raises Invalid naming the field: unknown channel or guarantee, a template that does not exist or is
    for the other channel, a list that does not exist. `list_id=None` means all contacts.
    """
    name = (name or "").strip()
    if not name:
        raise Invalid("a campaign needs a name", field="name")
    if channel not in CHANNELS:
        raise Invalid(f'channel "{channel}" is not known; a campaign sends by one of: {", ".join(CHANNELS)}',
                      field="channel")
    if guarantee not in GUARANTEES:
        raise Invalid(f'delivery guarantee "{guarantee}" is not known; use one of: {", ".join(GUARANTEES)}',
                      field="guarantee")
    template = session.get(Template, template_id)
    if template is None:
        raise Invalid(f"template {template_id} does not exist; pick one from the template list",
                      field="template_id")
    if template.channel != channel:
        raise Invalid(f'template {template_id} "{template.name}" is an {template.channel} template, but the campaign '
                      f"sends by {channel}; pick an {channel} template or change the channel", field="template_id")
    if list_id is not None and session.get(ContactList, list_id) is None:
        raise Invalid(f"list {list_id} does not exist; pick a list, or none to send to all contacts",
                      field="list_id")
    campaign = Campaign(name=name, channel=channel, template_id=template_id, list_id=list_id, guarantee=guarantee,
                        created_by=created_by, status="draft", created_at=now, updated_at=now)
    session.add(campaign)
    session.commit()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """Raises NotFound naming the id."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist; see the campaign list for the ids that do")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    """All campaigns, newest first."""
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def send_campaign(session: Session, campaign_id: int, *, now: datetime, channel_description: str,
                  dry_run: bool) -> Run:
    """Send a draft campaign now: create its run, materialise the outbox, set it running; commits.

    `channel_description` is the channel's describe() (secrets masked), kept on the run so a report
    says where the messages went; `dry_run` marks a run whose channel delivers nothing (log://).
    The senders pick the messages up from there. Raises NotFound, or Conflict unless it is a draft.
    A run with nobody to send to (every recipient suppressed, or an empty list) completes at once.
    """
    campaign = get_campaign(session, campaign_id)
    # Conditional, so two clicks on "send" (or two processes) start at most one run.
    started = session.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "draft")
        .values(status="running", updated_at=now)
    ).rowcount
    if not started:
        session.rollback()
        session.refresh(campaign)
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" is {campaign.status}, not a draft; only a draft '
                       "can be sent — create a new campaign to send it again")
    run = Run(campaign_id=campaign_id, occasion_key="once", status="running", channel_url=channel_description[:300],
              dry_run=dry_run, started_at=now)
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" has already been sent') from None
    materialise_run(session, run=run, campaign=campaign, now=now)
    queries.finish_idle_runs(session, [run.id], now=now)
    # Refreshed before the commit, not after: a read after it would open a new transaction the caller
    # did not ask for (on SQLite every transaction takes the write lock, core/db.py).
    session.refresh(run)
    session.refresh(campaign)
    session.commit()
    return run


def cancel_campaign(session: Session, campaign_id: int, *, now: datetime) -> int:
    """Cancel a campaign: messages not yet sent become `cancelled`, its runs and it `cancelled`; commits.

    Messages a sender has already claimed finish normally. Returns the messages cancelled. Raises
    NotFound, or Conflict if the campaign has already completed or been cancelled.
    """
    campaign = get_campaign(session, campaign_id)
    changed = session.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.status.in_(CANCELLABLE))
        .values(status="cancelled", updated_at=now)
    ).rowcount
    if not changed:
        session.rollback()
        session.refresh(campaign)
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" is {campaign.status}; only a draft, scheduled, '
                       "running or paused campaign can be cancelled")
    cancelled = queries.cancel_pending_messages(session, campaign_id=campaign_id, now=now)
    session.execute(update(Run).where(Run.campaign_id == campaign_id, Run.status == "running")
                    .values(status="cancelled", finished_at=now))
    session.refresh(campaign)
    session.commit()
    return cancelled
