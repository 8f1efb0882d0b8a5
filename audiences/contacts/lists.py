"""Static lists: named groups of contacts, filled by an import, by hand, or frozen from a segment."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences import queries
from audiences.models import Contact, ContactList, ListMember
from audiences.segments import segment_where
from core.clock import utcnow
from core.db import UTCDateTime
from core.errors import Invalid, NotFound

NAME_LIMIT = 200


def check_list_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise Invalid("a list needs a name — type one, e.g. 2026 spring fair attendees", field="name")
    if len(cleaned) > NAME_LIMIT:
        raise Invalid(
            f'list name "{cleaned[:40]}..." is {len(cleaned)} characters long; the limit is {NAME_LIMIT}', field="name"
        )
    return cleaned


def find_or_add_list(session: Session, name: str, *, description: str = "", now: datetime | None = None) -> int:
    """The id of the list with this name, adding it (flushed, not committed) when missing."""
    cleaned = check_list_name(name)
    found = session.scalar(select(ContactList.id).where(ContactList.name == cleaned))
    if found is not None:
        return found
    contact_list = ContactList(name=cleaned, description=description, created_at=now or utcnow())
    session.add(contact_list)
    session.flush()
    return contact_list.id


def create_list(session: Session, name: str, description: str = "", *, now: datetime | None = None) -> ContactList:
    """Create a list. Raises Invalid when the name is empty, too long or already taken. Commits.

    `now` stamps created_at; without it the row's own default (the current time) applies.
    """
    cleaned = check_list_name(name)
    taken = session.scalar(select(ContactList.id).where(ContactList.name == cleaned))
    if taken is not None:
        raise Invalid(f'a list named "{cleaned}" already exists (list {taken}) — pick another name', field="name")
    contact_list = ContactList(name=cleaned, description=description, created_at=now or utcnow())
    session.add(contact_list)
    try:
        session.commit()
    except IntegrityError:
        # Someone created the same name between our check and the insert.
        session.rollback()
        raise Invalid(f'a list named "{cleaned}" already exists — pick another name', field="name") from None
    return contact_list


def get_list(session: Session, list_id: int) -> ContactList:
    """The list with this id. Raises NotFound."""
    contact_list = session.get(ContactList, list_id)
    if contact_list is None:
        raise NotFound(f"list {list_id} does not exist — it may have been deleted")
    return contact_list


def list_lists(session: Session) -> list[tuple[ContactList, int]]:
    """Every list with its member count, by name, in one query."""
    query = (
        select(ContactList, func.count(ListMember.contact_id))
        .outerjoin(ListMember, ListMember.list_id == ContactList.id)
        .group_by(ContactList.id)
        .order_by(ContactList.name)
    )
    return [(contact_list, members) for contact_list, members in session.execute(query)]


def contact_lists(session: Session, contact_id: int) -> list[ContactList]:
    """The lists a contact is on, by name, in one query. An unknown contact is on no list."""
    query = (
        select(ContactList)
        .join(ListMember, ListMember.list_id == ContactList.id)
        .where(ListMember.contact_id == contact_id)
        .order_by(ContactList.name)
    )
    return list(session.scalars(query))


def add_to_list(session: Session, list_id: int, contact_ids: Collection[int], *, now: datetime | None = None) -> int:
    """Add contacts to a list; those already on it stay as they are. Returns how many were added. Commits.

    Raises NotFound for an unknown list or contact ids (naming up to ten of them); nothing is added then.
    """
    get_list(session, list_id)
    wanted = set(contact_ids)
    missing = sorted(wanted - queries.existing_contact_ids(session, wanted))
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise NotFound(f"{len(missing)} contact id(s) do not exist: {shown} — nothing was added to list {list_id}")
    added = queries.insert_list_members(session, list_id=list_id, contact_ids=wanted, now=now or utcnow())
    session.commit()
    return added


def freeze_segment(session: Session, rules: Any, *, list_name: str, today: date, now: datetime,
                   description: str = "") -> tuple[ContactList, int]:
    """Put the contacts who match `rules` today on a new static list; returns it and its member count.

    A segment is evaluated whenever it is used; a frozen copy keeps today's members however the
    contacts change later. ONE INSERT … SELECT, so the database copies a million members without a
    Python loop. Raises SegmentRuleInvalid (checked before anything is written) and Invalid (empty or
    taken list name). Commits.
    """
    matching = segment_where(rules, today=today)
    cleaned = check_list_name(list_name)
    taken = session.scalar(select(ContactList.id).where(ContactList.name == cleaned))
    if taken is not None:
        raise Invalid(f'a list named "{cleaned}" already exists (list {taken}) — pick another name', field="name")
    # The list and its members in one transaction: a failure leaves no half-filled list behind.
    contact_list = ContactList(name=cleaned, description=description, created_at=now)
    session.add(contact_list)
    session.flush()
    members = select(literal(contact_list.id, Integer), Contact.id, literal(now, UTCDateTime())).where(matching)
    session.execute(insert(ListMember).from_select(["list_id", "contact_id", "added_at"], members))
    # Counted, not taken from rowcount: psycopg reports -1 for this INSERT … SELECT here.
    added = session.scalar(select(func.count()).select_from(ListMember).where(ListMember.list_id == contact_list.id))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Invalid(f'a list named "{cleaned}" already exists — pick another name', field="name") from None
    return contact_list, added or 0
