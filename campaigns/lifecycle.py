"""A campaign's life: created and edited as a draft, sent (a run is materialised), completed or cancelled.

The states and who may move a campaign between them are in campaigns/states.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences import ContactList, Segment
from campaigns import queries
from campaigns.audience.caps import FrequencyCap
from campaigns.audience.materialise import materialise_run
from campaigns.audience.send_time import Timing
from campaigns.models import CHANNELS, GUARANTEES, HIDDEN_KINDS, TEST_KIND, Campaign, Run, Template
from campaigns.states import check_campaign_editable, check_sendable, move_campaign, record_transition
from core.errors import Conflict, Invalid, NotFound

# Statuses from which a campaign can still be cancelled.
CANCELLABLE = ("draft", "pending_approval", "scheduled", "running", "paused")
NAME_LIMIT = 200  # the name column's length
CAP_LIMITS = {"cap_messages": 1000, "cap_days": 3650}  # a cap past these is no cap; the API documents them


def create_campaign(session: Session, *, name: str, channel: str, template_id: int, list_id: int | None = None,
                    created_by: int | None = None, guarantee: str = "at_most_once", now: datetime,
                    segment_id: int | None = None, operational: bool = False, ignore_caps: bool = False,
                    cap_messages: int | None = None, cap_days: int | None = None,
                    sender: str | None = None) -> Campaign:
    """Create a draft campaign; commits.

    Raises Invalid naming the field: unknown channel or guarantee, a template that does not exist or is
    for the other channel, a list or segment that does not exist, a cap below 0 (messages) or 1 (days).
    `list_id=None` means all contacts; `segment_id` narrows them to the segment's members at send time.
    `cap_messages`/`cap_days` replace the configured frequency cap for this campaign; `ignore_caps` skips it.
    `sender` names an email sender account ([channels.email.senders.NAME]); None is the default one. The
    caller checks the name against the configuration (web, API); a sender removed from it later makes
    the messages fail with a reason that says so.
    """
    _check_campaign(session, name=name, channel=channel, guarantee=guarantee, template_id=template_id,
                    list_id=list_id, segment_id=segment_id, cap_messages=cap_messages, cap_days=cap_days,
                    sender=sender)
    name = name.strip()
    campaign = Campaign(name=name, channel=channel, template_id=template_id, list_id=list_id, guarantee=guarantee,
                        created_by=created_by, status="draft", created_at=now, updated_at=now,
                        segment_id=segment_id, operational=operational, ignore_caps=ignore_caps,
                        cap_messages=cap_messages, cap_days=cap_days, sender=sender or None)
    session.add(campaign)
    session.flush()
    record_transition(session, campaign_id=campaign.id, from_status="", to_status="draft", user_id=created_by,
                      now=now)
    session.commit()
    return campaign


EDITABLE = ("name", "template_id", "list_id", "segment_id", "operational", "ignore_caps", "cap_messages", "cap_days",
            "sender")


def update_campaign(session: Session, campaign_id: int, *, now: datetime, **changes: Any) -> Campaign:
    """Change a draft campaign's name, content or audience (EDITABLE); checks like create_campaign; commits.

    Raises NotFound, Invalid (an unknown field or a bad value, naming it) or CampaignNotEditable once
    the campaign has left draft: what was approved, or is being sent, does not change under it.
    """
    campaign = get_campaign(session, campaign_id)
    check_campaign_editable(campaign)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid(f"campaign fields {', '.join(unknown)} cannot be changed; editable fields: "
                      f"{', '.join(EDITABLE)}", field=unknown[0])
    merged = {key: changes.get(key, getattr(campaign, key)) for key in EDITABLE}
    _check_campaign(session, channel=campaign.channel, guarantee=campaign.guarantee, **merged)
    merged["name"] = merged["name"].strip()
    merged["sender"] = merged["sender"] or None
    for key, value in merged.items():
        setattr(campaign, key, value)
    campaign.updated_at = now
    session.commit()
    return campaign


def _check_campaign(session: Session, *, name: str, channel: str, guarantee: str, template_id: int,
                    list_id: int | None, segment_id: int | None, cap_messages: int | None, cap_days: int | None,
                    sender: str | None = None, **_: Any) -> None:
    """Raise Invalid naming the first field that cannot be accepted."""
    if not (name or "").strip():
        raise Invalid("a campaign needs a name", field="name")
    if len(name.strip()) > NAME_LIMIT:
        raise Invalid(f"a campaign name has at most {NAME_LIMIT} characters; this one has {len(name.strip())}",
                      field="name")
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
    if segment_id is not None and session.get(Segment, segment_id) is None:
        raise Invalid(f"segment {segment_id} does not exist; pick a saved segment, or none", field="segment_id")
    # Upper bounds too: the columns are 32-bit, and PostgreSQL refuses a larger number (a 500 otherwise).
    if cap_messages is not None and not 0 <= cap_messages <= CAP_LIMITS["cap_messages"]:
        raise Invalid(f"the frequency cap is {cap_messages} messages; use 0 to {CAP_LIMITS['cap_messages']} "
                      "(0: no cap)", field="cap_messages")
    if cap_days is not None and not 1 <= cap_days <= CAP_LIMITS["cap_days"]:
        raise Invalid(f"the frequency cap counts {cap_days} days back; use 1 to {CAP_LIMITS['cap_days']}",
                      field="cap_days")
    if sender and channel != "email":
        raise Invalid(f'sender "{sender}" is an email sender account, but the campaign sends by {channel}; leave '
                      "the sender empty", field="sender")
    if sender and (len(sender) > 40 or not sender.replace("-", "").replace("_", "").isalnum()):
        raise Invalid(f'sender "{sender}" is not a sender name from [channels.email.senders]', field="sender")


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """Raises NotFound naming the id."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist; see the campaign list for the ids that do")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    """All campaigns, newest first — but those that carry Inbox answers and sign-up confirmations
    (HIDDEN_KINDS, campaigns/models.py), which nobody sends, edits or schedules, the campaigns a journey's
    send steps go through (kind "journey", campaigns/journeys/publish.py), which are parts of their journey, and
    the hidden ones of test sends (kind "test", campaigns/delivery/seed_sends.py). (Journeys and test sends use
    the marketer's own templates, so they are not HIDDEN_KINDS: the template list keeps those templates.)"""
    hidden = (*HIDDEN_KINDS, "journey", TEST_KIND)
    return list(session.scalars(select(Campaign).where(Campaign.kind.not_in(hidden)).order_by(Campaign.id.desc())))


def send_campaign(session: Session, campaign_id: int, *, now: datetime, channel_description: str,
                  dry_run: bool, approval_required: bool = False, user_id: int | None = None,
                  cap: FrequencyCap | None = None, timing: Timing | None = None) -> Run:
    """Send a draft (or approved) campaign now: create its run, materialise the outbox, set it running; commits.

    `timing` (campaigns/audience/send_time.py) applies quiet hours per recipient zone; None sends to everyone now.

    `channel_description` is the channel's describe() (secrets masked), kept on the run so a report
    says where the messages went; `dry_run` marks a run whose channel delivers nothing (log://).
    The senders pick the messages up from there. Raises NotFound, or Conflict unless it is a draft
    (and `approval_required` is off) or approved. A run with nobody to send to (every recipient
    suppressed, or an empty list) completes at once. `cap`: the configured frequency cap (campaigns/audience/caps.py).
    """
    campaign = get_campaign(session, campaign_id)
    check_sendable(campaign, approval_required=approval_required)
    # Conditional, so two clicks on "send" (or two processes) start at most one run.
    move_campaign(session, campaign, allowed_from=("scheduled",) if approval_required else ("draft", "scheduled"),
                  to_status="running", user_id=user_id, now=now,
                  refusal='campaign {id} "{name}" is {status}, not a draft; only a draft can be sent — create a new '
                          "campaign to send it again")
    run = Run(campaign_id=campaign_id, occasion_key="once", status="running", channel_url=channel_description[:300],
              dry_run=dry_run, started_at=now)
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f'campaign {campaign_id} "{campaign.name}" has already been sent') from None
    materialise_run(session, run=run, campaign=campaign, now=now, cap=cap, timing=timing)
    queries.finish_idle_runs(session, [run.id], now=now)
    # Refreshed before the commit, not after: a read after it would open a new transaction the caller
    # did not ask for (on SQLite every transaction takes the write lock, core/db.py).
    session.refresh(run)
    session.refresh(campaign)
    session.commit()
    return run


def cancel_campaign(session: Session, campaign_id: int, *, now: datetime, user_id: int | None = None,
                    comment: str = "") -> int:
    """Cancel a campaign: messages not yet sent become `cancelled`, its runs and it `cancelled`; commits.

    Messages a sender has already claimed finish normally. Returns the messages cancelled. Raises
    NotFound, or Conflict if the campaign has already completed or been cancelled.
    """
    campaign = get_campaign(session, campaign_id)
    move_campaign(session, campaign, allowed_from=CANCELLABLE, to_status="cancelled", user_id=user_id, now=now,
                  comment=comment, refusal='campaign {id} "{name}" is {status}; only a draft, waiting for approval, '
                                           "scheduled, running or paused campaign can be cancelled")
    cancelled = queries.cancel_pending_messages(session, campaign_id=campaign_id, now=now)
    session.execute(update(Run).where(Run.campaign_id == campaign_id, Run.status.in_(("running", "paused")))
                    .values(status="cancelled", finished_at=now))
    session.refresh(campaign)
    session.commit()
    return cancelled
