"""A contact's timeline: every message Herald made for them, what happened to each, and their purchases.

One query per source (messages, message events, conversions), each cut at `limit` newest rows, then
merged by time: the contact page costs four indexed queries however long the history is. Replies
are a source; clicks join as a further one (one function each, added to SOURCES).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns.models import TEST_KIND, Campaign, Conversion, Message, MessageEvent
from campaigns.responses.inbox_models import Reply

MAX_LIMIT = 500


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline. `kind` is message, event, conversion or reply (clicks later);
    `status` the message status or event type; `title` says what it was about (a campaign's name, an
    order), `detail` the rest in the provider's or the shop's words."""

    time: datetime
    kind: str
    title: str
    detail: str
    status: str = ""
    channel: str = ""
    campaign_id: int | None = None
    message_id: int | None = None
    # The parts of title and detail, for a page that words them in the reader's language.
    campaign: str = ""
    address: str = ""
    reason: str = ""
    order_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    product: str = ""


def _messages(session: Session, contact_id: int, limit: int) -> list[TimelineEntry]:
    # A message never sent (suppressed, capped, pending) is placed at its due time.
    at = func.coalesce(Message.sent_at, Message.not_before)
    query = (select(Message, Campaign.name, at.label("at")).join(Campaign, Campaign.id == Message.campaign_id)
             # A test send went to a marketer with this contact's data, not to the contact.
             .where(Message.contact_id == contact_id, Campaign.kind != TEST_KIND)
             .order_by(at.desc(), Message.id.desc()).limit(limit))
    entries = []
    for message, name, when in session.execute(query):
        detail = message.error_reason or (f"to {message.address}" if message.address else "")
        entries.append(TimelineEntry(time=when, kind="message", title=name, detail=detail, status=message.status,
                                     channel=message.channel, campaign_id=message.campaign_id,
                                     message_id=message.id, campaign=name, address=message.address or "",
                                     reason=message.error_reason or ""))
    return entries


def _events(session: Session, contact_id: int, limit: int) -> list[TimelineEntry]:
    query = (select(MessageEvent, Message.channel, Message.campaign_id, Campaign.name)
             .join(Message, Message.id == MessageEvent.message_id)
             .join(Campaign, Campaign.id == Message.campaign_id)
             .where(Message.contact_id == contact_id, Campaign.kind != TEST_KIND)
             .order_by(MessageEvent.occurred_at.desc(), MessageEvent.id.desc()).limit(limit))
    entries = []
    for event, channel, campaign_id, name in session.execute(query):
        detail = event.detail or {}
        words = detail.get("reason") or detail.get("error") or detail.get("url") or detail.get("code") or ""
        entries.append(TimelineEntry(time=event.occurred_at, kind="event", title=name, detail=str(words),
                                     status=event.type, channel=channel, campaign_id=campaign_id,
                                     message_id=event.message_id, campaign=name, reason=str(words)))
    return entries


def _conversions(session: Session, contact_id: int, limit: int) -> list[TimelineEntry]:
    query = (select(Conversion, Campaign.name).outerjoin(Campaign, Campaign.id == Conversion.campaign_id)
             .where(Conversion.contact_id == contact_id)
             .order_by(Conversion.occurred_at.desc(), Conversion.id.desc()).limit(limit))
    entries = []
    for conversion, name in session.execute(query):
        what = " · ".join(p for p in (conversion.product, conversion.category) if p)
        credited = f"credited to {name}" if name else "not credited to a campaign"
        entries.append(TimelineEntry(time=conversion.occurred_at, kind="conversion",
                                     title=f"order {conversion.order_id}: {conversion.amount} {conversion.currency}",
                                     detail="; ".join(p for p in (what, credited) if p),
                                     status=conversion.attribution, campaign_id=conversion.campaign_id,
                                     message_id=conversion.message_id, campaign=name or "",
                                     order_id=conversion.order_id, amount=conversion.amount,
                                     currency=conversion.currency, product=what))
    return entries


def _replies(session: Session, contact_id: int, limit: int) -> list[TimelineEntry]:
    """SMS the contact sent us (campaigns/responses/replies.py), with the campaign of the message they answered."""
    query = (select(Reply, Message.campaign_id, Campaign.name).outerjoin(Message, Message.id == Reply.message_id)
             .outerjoin(Campaign, Campaign.id == Message.campaign_id).where(Reply.contact_id == contact_id)
             .order_by(Reply.received_at.desc(), Reply.id.desc()).limit(limit))
    entries = []
    for reply, campaign_id, name in session.execute(query):
        keyword = f"keyword {reply.keyword} ({reply.classification})" if reply.keyword else ""
        answered = f"answered: {reply.answer}" if reply.answer else ""
        about = f"in answer to {name}" if name else ""
        entries.append(TimelineEntry(time=reply.received_at, kind="reply", title=f"“{reply.body}”",
                                     detail="; ".join(p for p in (about, keyword, answered) if p), status="replied",
                                     channel="sms", campaign_id=campaign_id, message_id=reply.message_id))
    return entries


SOURCES: tuple[Callable[[Session, int, int], list[TimelineEntry]], ...] = (_messages, _events, _conversions,
                                                                           _replies)


def contact_timeline(session: Session, contact_id: int, *, limit: int = 100) -> list[TimelineEntry]:
    """The contact's `limit` newest timeline entries, newest first. An unknown contact has none."""
    limit = max(1, min(limit, MAX_LIMIT))
    entries = [entry for source in SOURCES for entry in source(session, contact_id, limit)]
    # Kind breaks ties so a message comes after (below) the events it caused at the same instant.
    order = {"conversion": 0, "reply": 0, "event": 1, "message": 2}
    entries.sort(key=lambda e: (e.time, -order.get(e.kind, 1)), reverse=True)
    return entries[:limit]
