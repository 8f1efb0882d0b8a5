"""Answers written in the Inbox: an SMS back to the number a reply came from, through the outbox.

An answer is a message like any other: an outbox row (`messages`, its text in `body`) that the senders
claim, pace at the channel's rate, send and record with its provider id, segments, cost and status,
and that status callbacks move on. It belongs to one hidden campaign, "Inbox answers" (kind `inbox`,
made with the first answer), one run per answer, so the reports count what answering costs and the
campaign list and template list stay the marketer's own.

Who may be answered — a transactional answer to a question the contact asked:
- yes, even when they unsubscribed from marketing by a link, the preference page or an admin: they
  wrote to us and expect an answer;
- no, when they texted STOP (or their provider says they opted out): carriers hold the sender to it
  until START comes from that phone; nor to a number that bounced or is on the suppression list.
The reply must have come in through the SMS channel configured now (the same provider), so the answer
goes back the way the question came.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences import current_consents, get_contact, is_suppressed, undone_only_by_channel
from campaigns.audience.priority import NOTICE_PRIORITY
from campaigns.models import Campaign, Message, Run, Template
from campaigns.responses.conversations import get_conversation, get_reply, set_conversation_handled
from campaigns.responses.inbox_models import InboxAnswer, Reply
from core.errors import Conflict, Invalid

log = logging.getLogger("herald.answers")

INBOX_KIND = "inbox"  # Campaign.kind of the campaign that carries Inbox answers
INBOX_CODE = "herald-inbox-answers"  # its unique code: two first answers at once make one campaign
ANSWER_LIMIT = 1600  # characters; Twilio's own limit for one message body


class AnswerNotAllowed(Conflict):
    """The contact may not be sent this answer (they texted STOP, the number bounced or is suppressed);
    the message says why and what would change it."""


@dataclass(frozen=True)
class AnswerChannel:
    """The SMS channel as configured now: its describe() (secrets masked), its provider ("twilio",
    "http-sms", "log") and whether it is a dry run (log://: nothing leaves)."""

    description: str
    provider: str
    dry_run: bool


def answer_conversation(session: Session, contact_id: int, *, text: str, channel: AnswerChannel, now: datetime,
                        user_id: int | None = None, reply_id: int | None = None,
                        handled: bool = True) -> InboxAnswer:
    """Queue an SMS answer to the contact's reply `reply_id` (default: their newest) in the outbox; commits.

    The answer goes to the number that reply came from, ahead of marketing traffic, now (no quiet hours or
    frequency cap: they are waiting for it). With `handled` the conversation is marked handled in the same
    transaction. Raises NotFound (no such contact, conversation or reply), Invalid (empty or too long a
    text, a reply of another contact), AnswerNotAllowed (see the module doc) or Conflict (the reply came
    through another provider than the SMS channel configured now).
    """
    get_conversation(session, contact_id)
    body = text.strip()
    if not body:
        raise Invalid("Write the answer to send, or pick a canned reply.", field="text")
    if len(body) > ANSWER_LIMIT:
        raise Invalid(f"the answer is {len(body):,} characters long; an SMS answer takes at most {ANSWER_LIMIT:,} "
                      "— shorten it", field="text")
    reply = _reply_to(session, contact_id, reply_id)
    _check_allowed(session, contact_id, reply, channel)
    campaign = inbox_campaign(session, now=now)
    run = Run(campaign_id=campaign.id, occasion_key=f"answer:{secrets.token_hex(8)}", status="running",
              channel_url=channel.description[:300], dry_run=channel.dry_run, started_at=now)
    session.add(run)
    session.flush()
    message = Message(run_id=run.id, campaign_id=campaign.id, contact_id=contact_id, channel="sms",
                      address=reply.from_number, status="pending", priority=NOTICE_PRIORITY, not_before=now,
                      attempts=0, updated_at=now, body=body)
    session.add(message)
    session.flush()
    answer = InboxAnswer(contact_id=contact_id, reply_id=reply.id, message_id=message.id, user_id=user_id,
                         created_at=now)
    session.add(answer)
    conversation = get_conversation(session, contact_id)
    conversation.last_answer_at = now
    if handled:
        set_conversation_handled(session, contact_id, True, user_id=user_id, now=now, commit=False)
    session.commit()
    log.info("event=inbox_answer contact_id=%d reply_id=%d message_id=%d user_id=%s", contact_id, reply.id,
             message.id, user_id)
    return answer


def answer_reply(session: Session, reply_id: int, *, text: str, channel: AnswerChannel, now: datetime,
                 user_id: int | None = None, handled: bool = True) -> InboxAnswer:
    """answer_conversation for the contact of reply `reply_id`. A reply from a number no contact has cannot
    be answered (an outbox row belongs to a contact): Conflict saying to add the contact first."""
    reply = get_reply(session, reply_id)
    if reply.contact_id is None:
        raise Conflict(f"no contact has the number {reply.from_number}, so Herald cannot answer it: add a contact "
                       "with this number, then answer from their conversation")
    return answer_conversation(session, reply.contact_id, text=text, channel=channel, now=now, user_id=user_id,
                               reply_id=reply_id, handled=handled)


def answer_refusal(session: Session, contact_id: int, channel: AnswerChannel) -> str | None:
    """Why the contact's newest reply cannot be answered now, in the words answer_conversation would
    raise; None when it can (the conversation page shows this before anyone writes)."""
    try:
        _check_allowed(session, contact_id, _reply_to(session, contact_id, None), channel)
    except Conflict as exc:
        return exc.message
    return None


def _reply_to(session: Session, contact_id: int, reply_id: int | None) -> Reply:
    if reply_id is not None:
        reply = get_reply(session, reply_id)
        if reply.contact_id != contact_id:
            raise Invalid(f"reply {reply_id} is not from contact {contact_id}; answer it from its own conversation",
                          field="reply_id")
        return reply
    reply = session.scalar(select(Reply).where(Reply.contact_id == contact_id)
                           .order_by(Reply.received_at.desc(), Reply.id.desc()).limit(1))
    assert reply is not None  # get_conversation found the conversation, which the first reply made
    return reply


def _check_allowed(session: Session, contact_id: int, reply: Reply, channel: AnswerChannel) -> None:
    consent = current_consents(session, contact_id).get("sms")
    name = get_contact(session, contact_id).name or reply.from_number
    if consent is not None and consent.status == "unsubscribed" and undone_only_by_channel(consent):
        raise AnswerNotAllowed(f"{name} texted STOP (on {consent.changed_at:%Y-%m-%d %H:%M} UTC): Herald sends them "
                               "nothing, answers included, until they text START from that phone")
    if consent is not None and consent.status in ("bounced", "complained"):
        raise AnswerNotAllowed(f"{name}'s number is marked {consent.status} ({consent.source}); an SMS would not "
                               "reach them")
    if is_suppressed(session, "sms", reply.from_number):
        raise AnswerNotAllowed(f"{reply.from_number} is on the suppression list; take it off (Settings → "
                               "Suppression list) to answer")
    if not channel.dry_run and channel.provider != reply.provider:
        raise Conflict(f"this reply came in through {reply.provider}, but the SMS channel is now {channel.provider} "
                       f"({channel.description}); an answer goes back the way the question came — answer by phone, "
                       "or wait for their next message")


def inbox_campaign(session: Session, *, now: datetime) -> Campaign:
    """The campaign every Inbox answer belongs to, made (with its template) on first use. Not committed when
    found; when made, committed at once so a concurrent first answer finds it (the unique code decides)."""
    found = session.scalar(select(Campaign).where(Campaign.code == INBOX_CODE))
    if found is not None:
        return found
    template = Template(name="Inbox answers", channel="sms", body="", created_at=now, updated_at=now)
    session.add(template)
    session.flush()
    campaign = Campaign(name="Inbox answers", kind=INBOX_KIND, channel="sms", template_id=template.id,
                        status="running", code=INBOX_CODE, guarantee="at_most_once", operational=True,
                        ignore_caps=True, track_clicks=False, track_opens=False, created_at=now, updated_at=now)
    session.add(campaign)
    try:
        session.commit()
    except IntegrityError:  # made by another request meanwhile
        session.rollback()
        return session.scalars(select(Campaign).where(Campaign.code == INBOX_CODE)).one()
    return campaign
