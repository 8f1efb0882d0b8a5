"""Conversations: a contact's replies and the answers care staff wrote, who looks after them, what still waits.

A conversation is made with a contact's first reply and assigned then to the contact's owner (the
salesperson who knows them); anyone who may write can give it to someone else or to nobody. A reply
that is a question (or a labelled one: an order, a complaint) waits until someone marks the
conversation handled — or answers it, which handles it unless they say otherwise. A reply from a
number no contact has is handled on its own: there is no conversation to hang it on.

The thread (`conversation_thread`) is the replies and the answers in time order, each answer with the
status and cost of the outbox row that carries it (campaigns/responses/answers.py writes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from audiences import Contact, contacts_by_id, get_contact
from campaigns.models import Campaign, Message
from campaigns.responses.inbox_models import Conversation, InboxAnswer, Reply
from core.errors import Invalid, NotFound
from core.users import User

THREAD_LIMIT = 200


def note_reply(session: Session, contact_id: int, *, at: datetime, now: datetime) -> None:
    """Keep the contact's conversation for a reply received `at`: made (assigned to the contact's owner)
    with the first one, its last_reply_at moved on by later ones. One INSERT … ON CONFLICT, so two
    workers storing two replies of the same contact at once make one conversation. Does not commit."""
    owner = contacts_by_id(session, [contact_id]).get(contact_id)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(Conversation).values(contact_id=contact_id, assignee_id=owner.owner_id if owner else None,
                                            last_reply_at=at, created_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[Conversation.contact_id],
        set_={"last_reply_at": case((Conversation.last_reply_at < statement.excluded.last_reply_at,
                                     statement.excluded.last_reply_at), else_=Conversation.last_reply_at)})
    session.execute(statement)


def get_conversation(session: Session, contact_id: int) -> Conversation:
    """The contact's conversation; NotFound when the contact never replied (or does not exist)."""
    conversation = session.get(Conversation, contact_id)
    if conversation is None:
        get_contact(session, contact_id)  # NotFound naming the contact when there is none
        raise NotFound(f"contact {contact_id} has never replied, so there is no conversation to show, assign or "
                       "answer; a message to them is a campaign")
    return conversation


def assign_conversation(session: Session, contact_id: int, assignee_id: int | None, *, by_user_id: int | None,
                        now: datetime) -> Conversation:
    """Give the contact's conversation to a user (None: to nobody); commits. Raises NotFound (no
    conversation) or Invalid naming an assignee who is not an active user."""
    conversation = get_conversation(session, contact_id)
    if assignee_id is not None:
        user = session.get(User, assignee_id)
        if user is None or not user.active:
            raise Invalid(f"user {assignee_id} is not an active Herald user — pick someone from the list",
                          field="assignee_id")
    conversation.assignee_id = assignee_id
    conversation.assigned_at, conversation.assigned_by = now, by_user_id
    session.commit()
    return conversation


def set_conversation_handled(session: Session, contact_id: int, handled: bool, *, user_id: int | None,
                             now: datetime, commit: bool = True) -> int:
    """Mark every waiting reply of the contact handled (by `user_id`), or, with handled=False, open the
    conversation again by making its newest reply wait. Returns the replies changed; commits unless told
    not to. Raises NotFound when the contact never replied."""
    get_conversation(session, contact_id)
    if handled:
        changed = session.execute(
            update(Reply).execution_options(synchronize_session=False)
            .where(Reply.contact_id == contact_id, Reply.handled_at.is_(None))
            .values(handled_at=now, handled_by=user_id)).rowcount
    else:
        newest = session.scalar(select(Reply.id).where(Reply.contact_id == contact_id)
                                .order_by(Reply.received_at.desc(), Reply.id.desc()).limit(1))
        changed = session.execute(update(Reply).execution_options(synchronize_session=False)
                                  .where(Reply.id == newest, Reply.handled_at.is_not(None))
                                  .values(handled_at=None, handled_by=None)).rowcount
    if commit:
        session.commit()
    return changed


def set_reply_handled(session: Session, reply_id: int, handled: bool, *, user_id: int | None,
                      now: datetime) -> Reply:
    """Handle (or reopen) a reply: for a contact's reply, their whole conversation; for a reply from a
    number no contact has, that reply alone. Commits; NotFound for an unknown reply."""
    reply = get_reply(session, reply_id)
    if reply.contact_id is not None:
        set_conversation_handled(session, reply.contact_id, handled, user_id=user_id, now=now)
    else:
        reply.handled_at, reply.handled_by = (now, user_id) if handled else (None, None)
        session.commit()
    session.refresh(reply)
    return reply


def get_reply(session: Session, reply_id: int) -> Reply:
    """Raises NotFound naming the id."""
    reply = session.get(Reply, reply_id)
    if reply is None:
        raise NotFound(f"reply {reply_id} does not exist; the Inbox (or GET /api/v1/replies) lists them")
    return reply


# ---------------------------------------------------------------------- the thread
@dataclass(frozen=True)
class ThreadEntry:
    """One line of a conversation: a reply that came in, or an SMS that went out.

    `direction` is "in" (the contact wrote), "out" (a person answered from the Inbox) or "auto" (Herald
    answered a keyword by itself). For "out", `status`, `cost` and `error` come from the outbox row."""

    time: datetime
    direction: str
    text: str
    reply_id: int | None = None
    message_id: int | None = None
    classification: str = ""
    keyword: str | None = None
    waiting: bool = False
    status: str = ""
    cost: Decimal | None = None
    currency: str | None = None
    error: str | None = None
    user_name: str = ""
    campaign_id: int | None = None
    campaign_name: str = ""


@dataclass(frozen=True)
class ConversationView:
    contact: Contact
    conversation: Conversation
    assignee: User | None
    entries: list[ThreadEntry]  # oldest first, the newest THREAD_LIMIT replies and answers
    waiting: int  # replies waiting for a person
    last_reply: Reply | None


def conversation_thread(session: Session, contact_id: int, *, limit: int = THREAD_LIMIT) -> ConversationView:
    """The contact's conversation: the newest `limit` replies and answers, oldest first. Four queries.
    Raises NotFound when the contact never replied."""
    conversation = get_conversation(session, contact_id)
    contact = get_contact(session, contact_id)
    replies = list(session.execute(
        select(Reply, Campaign.id, Campaign.name).outerjoin(Message, Message.id == Reply.message_id)
        .outerjoin(Campaign, Campaign.id == Message.campaign_id).where(Reply.contact_id == contact_id)
        .order_by(Reply.received_at.desc(), Reply.id.desc()).limit(limit)))
    answers = list(session.execute(
        select(InboxAnswer, Message, User.name, User.email).join(Message, Message.id == InboxAnswer.message_id)
        .outerjoin(User, User.id == InboxAnswer.user_id).where(InboxAnswer.contact_id == contact_id)
        .order_by(InboxAnswer.created_at.desc(), InboxAnswer.id.desc()).limit(limit)))
    entries: list[ThreadEntry] = []
    for reply, campaign_id, campaign_name in replies:
        entries.append(ThreadEntry(reply.received_at, "in", reply.body, reply_id=reply.id,
                                   classification=reply.classification, keyword=reply.keyword,
                                   waiting=reply.handled_at is None, campaign_id=campaign_id,
                                   campaign_name=campaign_name or ""))
        if reply.answer:  # the keyword's own answer went back at once (TwiML, or through the gateway)
            entries.append(ThreadEntry(reply.received_at, "auto", reply.answer, reply_id=reply.id,
                                       keyword=reply.keyword))
    for answer, message, name, email in answers:
        entries.append(ThreadEntry(answer.created_at, "out", message.body or "", reply_id=answer.reply_id,
                                   message_id=message.id, status=message.status, cost=message.cost,
                                   currency=message.currency, error=message.error_reason,
                                   user_name=name or email or ""))
    order = {"in": 0, "auto": 1, "out": 2}
    entries.sort(key=lambda e: (e.time, order[e.direction]))
    assignee = session.get(User, conversation.assignee_id) if conversation.assignee_id else None
    waiting = sum(1 for reply, _id, _name in replies if reply.handled_at is None)
    return ConversationView(contact, conversation, assignee, entries[-limit:], waiting,
                            replies[0][0] if replies else None)
