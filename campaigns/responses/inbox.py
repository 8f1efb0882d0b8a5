"""The Inbox's reading side: replies page by page, filtered and searched, and the counts the menu shows.

A page is one query for the rows, one count, and one query each for the contacts, the campaigns the
replies answer and the assignees on it — whatever the number of replies stored. The menu's count reads
only the replies still waiting (partial index ix_replies_waiting), so it stays cheap on every page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, distinct, false, func, or_, select
from sqlalchemy.orm import Session

from audiences import contacts_by_id, contacts_matching
from campaigns.models import Campaign, Message
from campaigns.responses.inbox_models import REPLY_CLASSES, Conversation, Reply
from core.errors import Invalid
from core.users import User

STATUSES = ("waiting", "handled")
NOBODY = "nobody"  # the assignee filter's value for conversations given to no one
SEARCH_LIMIT = 100


@dataclass(frozen=True)
class InboxRow:
    reply: Reply
    contact_name: str | None
    campaign_id: int | None
    campaign_name: str | None
    assignee_id: int | None = None
    assignee_name: str | None = None


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int  # replies matching the filters, on every page
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def inbox_page(session: Session, *, status: str | None = None, assignee: int | str | None = None,
               contact_id: int | None = None, classification: str | None = None, unmatched: bool = False,
               search: str | None = None, page: int = 1, per_page: int = 50) -> InboxPage:
    """Replies newest first, one page, with the total. Filters: `status` waiting or handled; `assignee` a
    user id or NOBODY (the conversation's assignee); one contact's; one class; only those from numbers no
    contact has; `search` in the contact's name, email or phone, the sender's number or the text.
    Raises Invalid naming a filter value it does not know."""
    conditions = _conditions(status=status, assignee=assignee, contact_id=contact_id, classification=classification,
                             unmatched=unmatched, search=search)
    page, per_page = max(1, page), max(1, per_page)
    joined = select(Reply).outerjoin(Conversation, Conversation.contact_id == Reply.contact_id).where(*conditions)
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    replies = list(session.scalars(joined.order_by(Reply.received_at.desc(), Reply.id.desc())
                                   .limit(per_page).offset((page - 1) * per_page)))
    return InboxPage(describe_replies(session, replies), total, page, per_page)


def list_replies(session: Session, *, classification: str | None = None, unmatched: bool = False,
                 limit: int = 100, offset: int = 0) -> list[InboxRow]:
    """Replies newest first, optionally of one class or only those matched to no contact (the first page of
    inbox_page, kept for callers that count rows rather than pages)."""
    conditions = _conditions(classification=classification, unmatched=unmatched)
    replies = list(session.scalars(select(Reply).where(*conditions)
                                   .order_by(Reply.received_at.desc(), Reply.id.desc()).limit(limit).offset(offset)))
    return describe_replies(session, replies)


def _conditions(*, status: str | None = None, assignee: int | str | None = None, contact_id: int | None = None,
                classification: str | None = None, unmatched: bool = False, search: str | None = None) -> list[Any]:
    conditions: list[Any] = []
    if status:
        if status not in STATUSES:
            raise Invalid(f'status "{status}" is not known; known: {", ".join(STATUSES)}', field="status")
        conditions.append(Reply.handled_at.is_(None) if status == "waiting" else Reply.handled_at.is_not(None))
    if assignee == NOBODY:
        conditions += [Reply.contact_id.is_not(None), Conversation.assignee_id.is_(None)]
    elif assignee is not None:
        conditions.append(Conversation.assignee_id == int(assignee))
    if contact_id is not None:
        conditions.append(Reply.contact_id == contact_id)
    if classification:
        if classification not in REPLY_CLASSES:
            raise Invalid(f'reply class "{classification}" is not known; known: {", ".join(REPLY_CLASSES)}',
                          field="class")
        conditions.append(Reply.classification == classification)
    if unmatched:
        conditions.append(Reply.contact_id.is_(None))
    term = (search or "").strip()[:SEARCH_LIMIT]
    if term:
        matches = [Reply.body.icontains(term, autoescape=True), Reply.from_number.contains(term, autoescape=True),
                   Reply.contact_id.in_(contacts_matching(term))]
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 3:  # "138 0013 8001" finds +8613800138001
            matches.append(Reply.from_number.contains(digits, autoescape=True))
        conditions.append(or_(*matches))
    return conditions


def describe_replies(session: Session, replies: list[Reply]) -> list[InboxRow]:
    """Each reply with its contact's name, the campaign of the message it answers and its conversation's
    assignee: three queries (contacts, campaigns, assignees) for the whole list."""
    contacts = contacts_by_id(session, {r.contact_id for r in replies if r.contact_id is not None})
    message_ids = {r.message_id for r in replies if r.message_id is not None}
    campaigns: dict[int, tuple[int, str]] = {}
    if message_ids:
        campaigns = {mid: (cid, name) for mid, cid, name in session.execute(
            select(Message.id, Campaign.id, Campaign.name).join(Campaign, Campaign.id == Message.campaign_id)
            .where(Message.id.in_(message_ids)))}
    assignees: dict[int, tuple[int, str]] = {}
    if contacts:
        assignees = {contact_id: (user_id, name or email) for contact_id, user_id, name, email in session.execute(
            select(Conversation.contact_id, User.id, User.name, User.email)
            .join(User, User.id == Conversation.assignee_id).where(Conversation.contact_id.in_(list(contacts))))}
    rows = []
    for reply in replies:
        contact = contacts.get(reply.contact_id) if reply.contact_id is not None else None
        campaign = campaigns.get(reply.message_id) if reply.message_id is not None else None
        assigned = assignees.get(reply.contact_id) if reply.contact_id is not None else None
        rows.append(InboxRow(reply, (contact.name or contact.phone) if contact else None,
                             campaign[0] if campaign else None, campaign[1] if campaign else None,
                             assigned[0] if assigned else None, assigned[1] if assigned else None))
    return rows


def count_replies(session: Session) -> dict[str, int]:
    """{class: replies} over every reply, plus "unmatched" (no contact). One GROUP BY and one count."""
    counts = dict(session.execute(select(Reply.classification, func.count()).group_by(Reply.classification)).all())
    counts["unmatched"] = session.scalar(select(func.count()).where(Reply.contact_id.is_(None))) or 0
    return counts


def contact_replies(session: Session, contact_id: int, *, limit: int = 200) -> list[Reply]:
    """A contact's replies, newest first (for the contact timeline)."""
    return list(session.scalars(select(Reply).where(Reply.contact_id == contact_id)
                                .order_by(Reply.received_at.desc(), Reply.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Waiting:
    """What waits for a person: conversations (contacts with a waiting reply), those assigned to the
    reader, and waiting replies from numbers no contact has."""

    conversations: int
    mine: int
    unmatched: int

    @property
    def total(self) -> int:
        return self.conversations + self.unmatched


def count_waiting(session: Session, *, user_id: int | None = None) -> Waiting:
    """The menu's counts: one query over the waiting replies only (ix_replies_waiting), joined to their
    conversations for the reader's share."""
    mine = Conversation.assignee_id == user_id if user_id is not None else false()
    conversations, unmatched, own = session.execute(
        select(func.count(distinct(Reply.contact_id)),
               func.coalesce(func.sum(case((Reply.contact_id.is_(None), 1), else_=0)), 0),
               func.count(distinct(case((mine, Reply.contact_id)))))
        .outerjoin(Conversation, Conversation.contact_id == Reply.contact_id)
        .where(Reply.handled_at.is_(None))).one()
    return Waiting(conversations or 0, own or 0, unmatched or 0)
