"""Topic lists: the lists a contact may join or leave from the preference page (ContactList.is_topic).

Membership is the opt-in: a campaign sent to a topic list reaches its members only, so leaving the
list is unsubscribing from the topic, and joining it subscribes. Only lists marked as topics can be
changed this way, whatever ids a form posts.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from audiences import queries
from audiences.models import ContactList, ListMember
from core.errors import NotFound


def topic_lists(session: Session) -> list[ContactList]:
    """Every list marked as a topic, by name."""
    return list(session.scalars(select(ContactList).where(ContactList.is_topic.is_(True)).order_by(ContactList.name)))


def contact_topic_ids(session: Session, contact_id: int) -> set[int]:
    """The topic lists this contact is on."""
    return set(session.scalars(
        select(ListMember.list_id).join(ContactList, ContactList.id == ListMember.list_id)
        .where(ListMember.contact_id == contact_id, ContactList.is_topic.is_(True))))


def set_contact_topics(session: Session, contact_id: int, topic_ids: Collection[int], *, now: datetime) -> None:
    """Make the contact a member of exactly `topic_ids` among the topic lists (ids of other lists are ignored).
    Does not commit."""
    topics = {t.id for t in topic_lists(session)}
    wanted = set(topic_ids) & topics
    current = contact_topic_ids(session, contact_id)
    leave = (current - wanted)
    if leave:
        session.execute(delete(ListMember).where(ListMember.contact_id == contact_id, ListMember.list_id.in_(leave)))
    for list_id in sorted(wanted - current):
        queries.insert_list_members(session, list_id=list_id, contact_ids=[contact_id], now=now)


def set_topic(session: Session, list_id: int, is_topic: bool) -> ContactList:
    """Mark a list as a topic (shown on the preference page) or not; commits. Raises NotFound."""
    found = session.execute(update(ContactList).where(ContactList.id == list_id).values(is_topic=is_topic)).rowcount
    if not found:
        session.rollback()
        raise NotFound(f"list {list_id} does not exist; pick one from the lists page")
    session.commit()
    return session.get(ContactList, list_id)
