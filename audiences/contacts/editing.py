"""Writing one contact: create, update (the contact page and PATCH), delete.

Every value goes through the same checks as an import (audiences.contacts.records.clean_fields for the fields,
audiences.custom_fields for the custom attributes), so the form, the API and the CSV agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences.contacts.custom_fields import clean_attributes
from audiences.contacts.dates import new_contact_date
from audiences.contacts.records import check_region, clean_fields, country_of_phone, get_contact, require_address
from audiences.contacts.tags import set_contact_tags
from audiences.models import CONTACT_FIELDS, Contact, ContactDate
from core.errors import Invalid, NotFound
from core.users import User

# Fields whose empty value is "" rather than NULL.
_TEXT_FIELDS = ("first_name", "last_name", "company", "region", "source", "notes")
_UNIQUE = ("external_id", "email")


def check_owner(session: Session, owner_id: Any) -> int | None:
    """A Herald user's id as a contact's owner (None: no owner). Raises Invalid naming the bad value."""
    if owner_id is None or owner_id == "":
        return None
    try:
        user_id = int(owner_id)
    except (TypeError, ValueError):
        raise Invalid(f'owner "{owner_id}" is not a user id — pick a user from the list', field="owner_id") from None
    if session.get(User, user_id) is None:
        raise Invalid(f"owner {user_id} is not a Herald user — pick one from Settings → Users", field="owner_id")
    return user_id


def _check_unique(session: Session, cleaned: Mapping[str, Any], *, contact_id: int | None) -> None:
    for key in _UNIQUE:
        value = cleaned.get(key)
        if not value:
            continue
        query = select(Contact.id).where(getattr(Contact, key) == value)
        if contact_id is not None:
            query = query.where(Contact.id != contact_id)
        holder = session.scalar(query.limit(1))
        if holder is not None:
            raise Invalid(f'{key} "{value}" already belongs to contact {holder} — edit that contact instead', field=key)


def _dates(contact_id: int | None, dates: Iterable[Mapping[str, Any]]) -> list[ContactDate]:
    rows = []
    for item in dates:
        if not isinstance(item, Mapping):
            raise Invalid('each important date is an object {"kind": …, "date": "YYYY-MM-DD", "note": …}',
                          field="dates")
        rows.append(new_contact_date(contact_id, kind=str(item.get("kind") or ""), when=item.get("date") or "",
                                     note=str(item.get("note") or "")))
    return rows


def _commit(session: Session, cleaned: Mapping[str, Any]) -> None:
    try:
        session.commit()
    except IntegrityError:
        # Another request took this external_id or email between our check and the write.
        session.rollback()
        taken = next((k for k in _UNIQUE if cleaned.get(k)), "external_id")
        raise Invalid(f'{taken} "{cleaned.get(taken)}" already belongs to another contact — edit that contact',
                      field=taken) from None


def create_contact(session: Session, *, default_region: str, now: datetime, owner_id: int | None = None,
                   tags: Iterable[str] | None = None, dates: Iterable[Mapping[str, Any]] | None = None,
                   **fields: Any) -> Contact:
    """Create one contact from field values, optional `attributes` (custom values, checked against the
    custom field definitions), an owner, tags and important dates ({kind, date, note}).

    Raises Invalid for a bad value (one message listing them all for the fields), for a contact without
    email and phone, and when the email or external_id already belongs to another contact. Commits.
    """
    attributes = clean_attributes(session, fields.pop("attributes", None) or {})
    cleaned = clean_fields(fields, default_region=check_region(default_region))
    require_address(cleaned)
    if cleaned.get("phone") and not cleaned.get("country"):
        # The country a contact is in decides its holidays and quiet hours; its number knows it.
        cleaned["country"] = country_of_phone(cleaned["phone"])
    _check_unique(session, cleaned, contact_id=None)
    owner = check_owner(session, owner_id)
    date_rows = _dates(None, dates or [])
    contact = Contact(**cleaned, owner_id=owner, attributes={k: v for k, v in attributes.items() if v is not None},
                      created_at=now, updated_at=now)
    session.add(contact)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Invalid(f'external_id "{cleaned.get("external_id")}" already belongs to another contact — edit that '
                      "contact", field="external_id") from None
    for row in date_rows:
        row.contact_id = contact.id
        session.add(row)
    if tags:
        set_contact_tags(session, contact.id, list(tags), now=now)
    _commit(session, cleaned)
    return contact


def update_contact(session: Session, contact_id: int, *, default_region: str, now: datetime,
                   changes: Mapping[str, Any]) -> Contact:
    """Change a contact. `changes` holds only what changes:

    - any of CONTACT_FIELDS or "name": an empty value ("" or None) clears the field;
    - "owner_id": a user id, or None for no owner;
    - "attributes": {key: value} merged into the current ones; a None or "" value removes the key;
    - "tags": the complete list of tag names; "dates": the complete list of {kind, date, note}.

    The contact must keep an email or a phone. Raises NotFound, Invalid (listing every bad field). Commits.
    """
    contact = get_contact(session, contact_id)
    changes = dict(changes)
    unknown = [k for k in changes if k not in (*CONTACT_FIELDS, "name", "owner_id", "attributes", "tags", "dates")]
    if unknown:
        raise Invalid(f'"{unknown[0]}" is not a contact field; known fields: {", ".join(CONTACT_FIELDS)}, name, '
                      "owner_id, attributes, tags, dates", field=unknown[0])
    attributes = changes.pop("attributes", None)
    tags = changes.pop("tags", None)
    if tags is not None and (isinstance(tags, str) or not isinstance(tags, Iterable)):
        raise Invalid('tags is the list of tag names, e.g. ["vip", "trade-fair-2026"]', field="tags")
    dates = changes.pop("dates", None)
    owner_given = "owner_id" in changes
    owner = check_owner(session, changes.pop("owner_id", None))
    cleared = [k for k, v in changes.items() if v is None or (isinstance(v, str) and not v.strip())]
    cleaned = clean_fields({k: v for k, v in changes.items() if k not in cleared},
                           default_region=check_region(default_region))
    merged_attributes = dict(contact.attributes or {})
    if attributes is not None:
        for key, value in clean_attributes(session, attributes).items():
            if value is None or value == "":
                merged_attributes.pop(key, None)
            else:
                merged_attributes[key] = value
    date_rows = _dates(contact_id, dates) if dates is not None else None

    final = {f: getattr(contact, f) for f in ("email", "phone")}
    final.update({k: None for k in cleared if k in final})
    final.update({k: v for k, v in cleaned.items() if k in final})
    require_address(final)
    _check_unique(session, cleaned, contact_id=contact_id)

    for key in cleared:
        if key == "name":
            contact.first_name, contact.last_name = "", ""
        else:
            setattr(contact, key, "" if key in _TEXT_FIELDS else None)
    for key, value in cleaned.items():
        setattr(contact, key, value)
    if contact.phone and not contact.country and "country" not in cleared:
        contact.country = country_of_phone(contact.phone)  # as on create; a country cleared on purpose stays empty
    if owner_given:
        contact.owner_id = owner
    # A new dict, so the ORM sees the JSON column change.
    contact.attributes = merged_attributes
    contact.updated_at = now
    if date_rows is not None:
        session.execute(delete(ContactDate).where(ContactDate.contact_id == contact_id))
        session.add_all(date_rows)
    if tags is not None:
        set_contact_tags(session, contact_id, list(tags), now=now)
    _commit(session, cleaned)
    return contact


def owned_contact_counts(session: Session) -> dict[int, int]:
    """{user id: how many contacts they own}, for users who own any. One GROUP BY."""
    query = select(Contact.owner_id, func.count()).where(Contact.owner_id.is_not(None)).group_by(Contact.owner_id)
    return {owner: count for owner, count in session.execute(query)}


def delete_contact(session: Session, contact_id: int) -> None:
    """Delete a contact with its list memberships, tags, dates, consents and messages. Raises NotFound. Commits."""
    found = session.scalar(select(Contact.id).where(Contact.id == contact_id))
    if found is None:
        raise NotFound(f"contact {contact_id} does not exist — it may have been deleted")
    session.execute(delete(Contact).where(Contact.id == contact_id))
    session.commit()
