"""Changes to the contacts a SELECT of contact ids names, without committing: what a journey's update-contact
step does to a whole batch (campaigns/journeys/steps.py), in the journey's own transaction.

Each change is one statement over the selection, as the bulk actions are (bulk.py), but those take the
contacts page's filter and commit; these take any SELECT of ids and leave the transaction to the caller,
so the change and the journey's move commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, delete, exists, insert, literal, select, update
from sqlalchemy.orm import Session

from audiences.contacts.lists import get_list
from audiences.contacts.records import normalise_lifecycle_stage, normalise_value_tier
from audiences.contacts.tags import find_or_add_tag, find_tag
from audiences.models import Contact, ContactTag, ListMember
from core.db import UTCDateTime
from core.errors import Invalid, NotFound

SETTABLE = {"lifecycle_stage": normalise_lifecycle_stage, "value_tier": normalise_value_tier}


def add_tag_to(session: Session, contact_ids: Any, tag: str, *, now: datetime) -> None:
    """Tag the selected contacts (the tag is added when new); those tagged already stay as they are."""
    tag_id = find_or_add_tag(session, tag, now=now).id
    untagged = ~exists().where(ContactTag.contact_id == Contact.id, ContactTag.tag_id == tag_id)
    rows = select(Contact.id, literal(tag_id, Integer), literal(now, UTCDateTime())).where(
        Contact.id.in_(contact_ids), untagged)
    session.execute(insert(ContactTag).from_select(["contact_id", "tag_id", "added_at"], rows))


def remove_tag_from(session: Session, contact_ids: Any, tag: str) -> None:
    """Take the tag off the selected contacts; a tag nobody has is nothing to take off."""
    try:
        tag_id = find_tag(session, tag).id
    except NotFound:
        return
    session.execute(delete(ContactTag).where(ContactTag.tag_id == tag_id, ContactTag.contact_id.in_(contact_ids))
                    .execution_options(synchronize_session=False))


def add_to_list_of(session: Session, contact_ids: Any, list_id: int, *, now: datetime) -> None:
    """Put the selected contacts on a static list. Raises NotFound for a list deleted since."""
    get_list(session, list_id)
    absent = ~exists().where(ListMember.contact_id == Contact.id, ListMember.list_id == list_id)
    rows = select(literal(list_id, Integer), Contact.id, literal(now, UTCDateTime())).where(
        Contact.id.in_(contact_ids), absent)
    session.execute(insert(ListMember).from_select(["list_id", "contact_id", "added_at"], rows))


def remove_from_list_of(session: Session, contact_ids: Any, list_id: int) -> None:
    """Take the selected contacts off a list (a list deleted since has nobody left to take off)."""
    session.execute(delete(ListMember).where(ListMember.list_id == list_id, ListMember.contact_id.in_(contact_ids))
                    .execution_options(synchronize_session=False))


def check_settable(fields: Mapping[str, Any]) -> dict[str, str]:
    """The fields a set step may change, normalised ("休眠" -> "dormant"). Raises Invalid naming the field."""
    cleaned = {}
    for name, value in fields.items():
        if name not in SETTABLE:
            raise Invalid(f'"{name}" cannot be set here; settable fields: {", ".join(SETTABLE)}', field=name)
        cleaned[name] = SETTABLE[name](str(value), label=name)
    return cleaned


def set_fields_of(session: Session, contact_ids: Any, fields: Mapping[str, Any], *, now: datetime) -> None:
    """Set lifecycle_stage and/or value_tier on the selected contacts. Raises Invalid for a value."""
    session.execute(update(Contact).where(Contact.id.in_(contact_ids))
                    .values(updated_at=now, **check_settable(fields)).execution_options(synchronize_session=False))
