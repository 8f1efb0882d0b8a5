"""A campaign's states and who moves it between them, each move recorded with who, when and why.

    draft -> (pending_approval ->) scheduled -> running <-> paused -> completed / cancelled / failed

Approval is optional ([approval] required in config.toml). When it is on, a draft is submitted for
approval; an approver (role "approver", or an admin) approves it — it becomes `scheduled`: ready to
send now, or at its time — or rejects it back to draft with a comment. Pausing sets the campaign's
running runs `paused`: the claim query takes messages of running runs only, so no sender claims
another message of it from the next round on (in-flight batches finish). Resuming sets them running.

Every change of status goes through `record_transition`, so the campaign page can show its history.
A campaign's content (its template, audience, channel) is frozen once it leaves draft: approval
would mean nothing if the approved text could change afterwards, and a running campaign would send
two versions of itself. That covers every input: the templates of its A/B variants as well as its
own (check_template_editable), and its segment, whose rules are copied onto the campaign when it is
submitted (a segment is shared and stays editable; the campaign keeps what the approver saw). The
approver may not be who submitted it unless [approval] allow_self_approval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from audiences import get_segment
from campaigns import queries
from campaigns.models import Campaign, CampaignTransition, CampaignVariant, Run
from core.errors import Conflict, HeraldError, Invalid, NotFound
from core.users import User

# Statuses in which a campaign's content may no longer change (see the module doc).
CONTENT_LOCKED = ("pending_approval", "scheduled", "running", "paused")
# Statuses a campaign ends in.
FINISHED = ("completed", "cancelled", "failed")


class NotAllowed(HeraldError):
    """The user's role may not do this (e.g. a marketer approving a campaign)."""

    http_status = 403


class CampaignNotEditable(Conflict):
    """The campaign (or a template it uses) is past draft, so its content cannot change."""


@dataclass(frozen=True)
class Transition:
    """One recorded change of status, with the user's email (None: Herald itself, e.g. on completion)."""

    from_status: str
    to_status: str
    user_email: str | None
    comment: str
    at: datetime


def record_transition(session: Session, *, campaign_id: int, from_status: str, to_status: str,
                      user_id: int | None, now: datetime, comment: str = "") -> None:
    """Append one transition; does not commit (the caller's status change and this share a transaction)."""
    session.execute(insert(CampaignTransition).values(
        campaign_id=campaign_id, from_status=from_status, to_status=to_status, user_id=user_id,
        comment=comment.strip(), at=now))


def list_transitions(session: Session, campaign_id: int) -> list[Transition]:
    """A campaign's history, oldest first, with who made each change (one query)."""
    rows = session.execute(
        select(CampaignTransition, User.email)
        .outerjoin(User, User.id == CampaignTransition.user_id)
        .where(CampaignTransition.campaign_id == campaign_id)
        .order_by(CampaignTransition.at, CampaignTransition.id))
    return [Transition(t.from_status, t.to_status, email, t.comment, t.at) for t, email in rows]


def move_campaign(session: Session, campaign: Campaign, *, allowed_from: Sequence[str], to_status: str,
                  user_id: int | None, now: datetime, comment: str = "", refusal: str) -> str:
    """Move `campaign` to `to_status` if it is in one of `allowed_from`, and record it; does not commit.

    Conditional in SQL, so two clicks (or two processes) move it at most once. Returns the status it
    left. Raises Conflict with `refusal` (formatted with the campaign's id, name and current status).
    """
    left = session.scalar(select(Campaign.status).where(Campaign.id == campaign.id))
    moved = left in allowed_from and session.execute(
        update(Campaign).where(Campaign.id == campaign.id, Campaign.status == left)
        .values(status=to_status, updated_at=now)
    ).rowcount
    if not moved:
        session.rollback()
        session.refresh(campaign)
        raise Conflict(refusal.format(id=campaign.id, name=campaign.name, status=campaign.status))
    session.refresh(campaign)
    record_transition(session, campaign_id=campaign.id, from_status=left, to_status=to_status, user_id=user_id,
                      now=now, comment=comment)
    return str(left)


def _get(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist; see the campaign list for the ids that do")
    return campaign


# ------------------------------------------------------------------ approval
def submit_for_approval(session: Session, campaign_id: int, *, user: User, now: datetime,
                        comment: str = "") -> Campaign:
    """draft -> pending_approval, keeping the segment's rules as they are now (Campaign.approved_segment_rules);
    commits. Raises NotFound (also for a deleted segment) or Conflict."""
    campaign = _get(session, campaign_id)
    rules = get_segment(session, campaign.segment_id).rules if campaign.segment_id is not None else None
    move_campaign(session, campaign, allowed_from=("draft",), to_status="pending_approval", user_id=user.id,
                  now=now, comment=comment,
                  refusal='campaign {id} "{name}" is {status}; only a draft can be submitted for approval')
    campaign.approved_segment_rules = rules
    session.commit()
    return campaign


def approve_campaign(session: Session, campaign_id: int, *, user: User, now: datetime, comment: str = "",
                     allow_self_approval: bool = False) -> Campaign:
    """pending_approval -> scheduled (ready to send now or at its time), noting the approver; commits.

    Raises NotAllowed unless the user is an approver or an admin and — unless `allow_self_approval`
    ([approval] allow_self_approval) — not who submitted it; NotFound, or Conflict.
    """
    _check_approver(user, "approve")
    campaign = _get(session, campaign_id)
    if not allow_self_approval and _submitted_by(session, campaign.id) == user.id:
        raise NotAllowed(f'campaign {campaign.id} "{campaign.name}" was submitted by {user.email}, who may not also '
                         "approve it; another approver or admin approves it (or set [approval] "
                         "allow_self_approval = true in config.toml for a team of one)")
    move_campaign(session, campaign, allowed_from=("pending_approval",), to_status="scheduled", user_id=user.id,
                  now=now, comment=comment,
                  refusal='campaign {id} "{name}" is {status}, not waiting for approval; only a campaign '
                          "submitted for approval can be approved")
    campaign.approved_by, campaign.approved_at = user.id, now
    session.commit()
    return campaign


def reject_campaign(session: Session, campaign_id: int, *, user: User, now: datetime, comment: str) -> Campaign:
    """pending_approval -> draft with the approver's comment (required: it tells the marketer what to fix); commits.

    Raises NotAllowed, Invalid (no comment), NotFound or Conflict.
    """
    _check_approver(user, "reject")
    if not (comment or "").strip():
        raise Invalid("say why the campaign is rejected, so its author knows what to change", field="comment")
    campaign = _get(session, campaign_id)
    move_campaign(session, campaign, allowed_from=("pending_approval",), to_status="draft", user_id=user.id,
                  now=now, comment=comment,
                  refusal='campaign {id} "{name}" is {status}, not waiting for approval; only a campaign '
                          "submitted for approval can be rejected")
    campaign.approved_segment_rules = None  # a draft again: its segment is read live until the next submission
    session.commit()
    return campaign


def _submitted_by(session: Session, campaign_id: int) -> int | None:
    """Who moved the campaign to pending_approval last (None: Herald itself, or never)."""
    return session.scalar(
        select(CampaignTransition.user_id)
        .where(CampaignTransition.campaign_id == campaign_id, CampaignTransition.to_status == "pending_approval")
        .order_by(CampaignTransition.at.desc(), CampaignTransition.id.desc()).limit(1))


def _check_approver(user: User, verb: str) -> None:
    if not user.can("approve"):
        raise NotAllowed(f"user {user.email} has the {user.role} role, which may not {verb} campaigns; "
                         "ask an admin to give an approver the approver role")


def check_sendable(campaign: Campaign, *, approval_required: bool) -> None:
    """Raise Conflict unless `campaign` may start sending now: a draft (when no approval is needed) or
    an approved (scheduled) campaign."""
    if campaign.status == "scheduled":
        return
    if campaign.status == "draft" and approval_required:
        raise Conflict(f'campaign {campaign.id} "{campaign.name}" needs approval before it is sent; submit it for '
                       "approval, and an approver will approve or reject it")
    if campaign.status == "pending_approval":
        raise Conflict(f'campaign {campaign.id} "{campaign.name}" is waiting for approval; it can be sent once an '
                       "approver approves it")
    if campaign.status != "draft":
        raise Conflict(f'campaign {campaign.id} "{campaign.name}" is {campaign.status}, not a draft; only a draft '
                       "can be sent — create a new campaign to send it again")


# ------------------------------------------------------------------ pause and resume
def pause_campaign(session: Session, campaign_id: int, *, user_id: int | None, now: datetime,
                   comment: str = "") -> Campaign:
    """running -> paused, and its running runs paused: senders claim none of its messages from now on.

    Messages already claimed finish (their batch is with the provider). Commits. Raises NotFound or Conflict.
    """
    campaign = _get(session, campaign_id)
    move_campaign(session, campaign, allowed_from=("running",), to_status="paused", user_id=user_id, now=now,
                  comment=comment, refusal='campaign {id} "{name}" is {status}; only a running campaign can be paused')
    session.execute(update(Run).where(Run.campaign_id == campaign_id, Run.status == "running")
                    .values(status="paused"))
    session.commit()
    return campaign


def resume_campaign(session: Session, campaign_id: int, *, user_id: int | None, now: datetime,
                    comment: str = "") -> Campaign:
    """paused -> running, its paused runs running again; a run with nothing left completes. Commits."""
    campaign = _get(session, campaign_id)
    move_campaign(session, campaign, allowed_from=("paused",), to_status="running", user_id=user_id, now=now,
                  comment=comment, refusal='campaign {id} "{name}" is {status}; only a paused campaign can be resumed')
    run_ids = list(session.scalars(
        update(Run).where(Run.campaign_id == campaign_id, Run.status == "paused")
        .values(status="running").returning(Run.id)))
    # Everything may have been sent while it was paused (the last in-flight batch): finish it now.
    queries.finish_idle_runs(session, run_ids, now=now)
    # Refreshed before the commit: a read after it would open a transaction (on SQLite, the write lock).
    session.refresh(campaign)
    session.commit()
    return campaign


# ------------------------------------------------------------------ content is frozen past draft
def check_campaign_editable(campaign: Campaign) -> None:
    """Raise CampaignNotEditable unless the campaign is a draft."""
    if campaign.status != "draft":
        raise CampaignNotEditable(
            f'campaign {campaign.id} "{campaign.name}" is {_said(campaign.status)}; its content can only change '
            "while it is a draft" + (
                " — pause and cancel it, then create a new campaign with the change"
                if campaign.status in ("running", "paused") else
                " — ask an approver to reject it back to draft first" if campaign.status == "pending_approval" else
                " — create a new campaign instead"))


def check_template_editable(session: Session, template_id: int, template_name: str) -> None:
    """Raise CampaignNotEditable if a campaign past draft (and not finished) sends this template, as its
    own or as one of its A/B variants'."""
    as_variant = select(CampaignVariant.campaign_id).where(CampaignVariant.template_id == template_id)
    using = session.execute(
        select(Campaign.id, Campaign.name, Campaign.status)
        .where((Campaign.template_id == template_id) | Campaign.id.in_(as_variant),
               Campaign.status.in_(CONTENT_LOCKED))
        .order_by(Campaign.id).limit(1)).first()
    if using is not None:
        campaign_id, name, status = using
        raise CampaignNotEditable(
            f'template {template_id} "{template_name}" is used by campaign {campaign_id} "{name}", which is '
            f"{_said(status)}; a template cannot change while a campaign that uses it is waiting for "
            "approval, scheduled, running or paused — create a new template, or wait until the campaign has finished")


def _said(status: str) -> str:
    return "waiting for approval" if status == "pending_approval" else status
