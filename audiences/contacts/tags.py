"""Tags: short labels marketers put on contacts ("展会2026", "VIP candidate"), many per contact.

Tagging a selection is one INSERT … SELECT and untagging one DELETE (audiences/contacts/bulk.py); the
functions here handle the tags themselves and one contact's tags.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences.models import ContactTag, Tag
from core.errors import Invalid, NotFound

NAME_LIMIT = 100


def check_tag_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise Invalid("a tag needs a name, e.g. trade-fair-2026", field="tag")
    if len(cleaned) > NAME_LIMIT:
        raise Invalid(f'tag "{cleaned[:40]}..." is {len(cleaned)} characters long; the limit is {NAME_LIMIT}',
                      field="tag")
    return cleaned


def find_or_add_tag(session: Session, name: str, *, now: datetime) -> Tag:
    """The tag with this name, added (flushed, not committed) when missing."""
    cleaned = check_tag_name(name)
    tag = session.scalar(select(Tag).where(Tag.name == cleaned))
    if tag is not None:
        return tag
    tag = Tag(name=cleaned, created_at=now)
    try:
        with session.begin_nested():
            session.add(tag)
    except IntegrityError:
        # Another request added the same tag meanwhile: use theirs.
        tag = session.scalars(select(Tag).where(Tag.name == cleaned)).one()
    return tag


def find_tag(session: Session, name: str) -> Tag:
    """The tag with this name. Raises NotFound naming it."""
    cleaned = check_tag_name(name)
    tag = session.scalar(select(Tag).where(Tag.name == cleaned))
    if tag is None:
        raise NotFound(f'no contact has the tag "{cleaned}" — check the spelling')
    return tag


def list_tags(session: Session) -> list[tuple[Tag, int]]:
    """Every tag with how many contacts carry it, by name, in one query."""
    query = (select(Tag, func.count(ContactTag.contact_id)).outerjoin(ContactTag, ContactTag.tag_id == Tag.id)
             .group_by(Tag.id).order_by(Tag.name))
    return [(tag, count) for tag, count in session.execute(query)]


def contact_tags(session: Session, contact_id: int) -> list[Tag]:
    """A contact's tags by name, in one query."""
    query = (select(Tag).join(ContactTag, ContactTag.tag_id == Tag.id).where(ContactTag.contact_id == contact_id)
             .order_by(Tag.name))
    return list(session.scalars(query))


def tags_of(session: Session, contact_ids: Collection[int]) -> dict[int, list[str]]:
    """{contact id: [tag names]} for many contacts (a page of the list, an API page), in one query."""
    found: dict[int, list[str]] = {cid: [] for cid in contact_ids}
    if not contact_ids:
        return found
    query = (select(ContactTag.contact_id, Tag.name).join(Tag, Tag.id == ContactTag.tag_id)
             .where(ContactTag.contact_id.in_(list(contact_ids))).order_by(Tag.name))
    for contact_id, name in session.execute(query):
        found[contact_id].append(name)
    return found


def set_contact_tags(session: Session, contact_id: int, names: Collection[str], *, now: datetime) -> list[str]:
    """Make a contact's tags exactly `names` (adding missing tags). Does not commit. Returns the names."""
    wanted = {check_tag_name(n) for n in names}
    tags = {name: find_or_add_tag(session, name, now=now) for name in sorted(wanted)}
    current = {t.name: t for t in contact_tags(session, contact_id)}
    gone = [t.id for name, t in current.items() if name not in wanted]
    if gone:
        session.execute(delete(ContactTag).where(ContactTag.contact_id == contact_id, ContactTag.tag_id.in_(gone)))
    for name, tag in tags.items():
        if name not in current:
            session.add(ContactTag(contact_id=contact_id, tag_id=tag.id, added_at=now))
    session.flush()
    return sorted(wanted)


def delete_tag(session: Session, tag_id: int) -> str:
    """Remove a tag from every contact and from the tag list. Returns its name. Commits."""
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise NotFound(f"tag {tag_id} does not exist — it may have been deleted")
    name = tag.name
    session.delete(tag)
    session.commit()
    return name
