"""Important dates beyond the birthday: company anniversary, contract renewal, membership date…

A contact may have any number of dates of each kind. Date-rule campaigns find them by
contact_dates(kind, date); DATE_KINDS are the kinds the UI suggests, any short kind is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from audiences.contacts.records import get_contact, parse_birthday
from audiences.models import ContactDate
from core.errors import Invalid, NotFound

KIND_LIMIT = 50
NOTE_LIMIT = 200
_KIND = re.compile(r"[a-z][a-z0-9_]*")


def check_kind(kind: str) -> str:
    cleaned = (kind or "").strip().lower().replace(" ", "_").replace("-", "_")
    if not cleaned:
        raise Invalid("an important date needs a kind, e.g. contract_renewal", field="kind")
    if not _KIND.fullmatch(cleaned) or len(cleaned) > KIND_LIMIT:
        raise Invalid(f'date kind "{kind[:60]}" must be lowercase letters, digits and _ (at most {KIND_LIMIT}), '
                      "e.g. company_anniversary", field="kind")
    return cleaned


def add_contact_date(session: Session, contact_id: int, *, kind: str, when: str | date, note: str = "") -> ContactDate:
    """Add an important date to a contact. Raises NotFound (contact), Invalid (kind, date, note). Commits."""
    get_contact(session, contact_id)
    row = new_contact_date(contact_id, kind=kind, when=when, note=note)
    session.add(row)
    session.commit()
    return row


def new_contact_date(contact_id: int | None, *, kind: str, when: str | date, note: str = "") -> ContactDate:
    """An unsaved ContactDate with its values checked (for create and update of a whole contact)."""
    cleaned_kind = check_kind(kind)
    if when is None or (isinstance(when, str) and not when.strip()):
        raise Invalid(f"the {cleaned_kind} date is empty — write it as YYYY-MM-DD", field="date")
    day = parse_birthday(when, label=cleaned_kind)
    note = " ".join((note or "").split())
    if len(note) > NOTE_LIMIT:
        raise Invalid(f"the note is {len(note)} characters long; the limit is {NOTE_LIMIT}", field="note")
    row = ContactDate(kind=cleaned_kind, date=day, note=note)
    if contact_id is not None:
        row.contact_id = contact_id
    return row


def remove_contact_date(session: Session, contact_id: int, date_id: int) -> None:
    """Remove one important date of this contact. Raises NotFound. Commits."""
    row = session.get(ContactDate, date_id)
    if row is None or row.contact_id != contact_id:
        raise NotFound(f"contact {contact_id} has no important date {date_id} — it may have been removed")
    session.delete(row)
    session.commit()


def dates_of(session: Session, contact_ids: Collection[int]) -> dict[int, list[ContactDate]]:
    """{contact id: [dates]} for many contacts (an API page), in one query."""
    found: dict[int, list[ContactDate]] = {cid: [] for cid in contact_ids}
    if not contact_ids:
        return found
    query = (select(ContactDate).where(ContactDate.contact_id.in_(list(contact_ids)))
             .order_by(ContactDate.kind, ContactDate.date))
    for row in session.scalars(query):
        found[row.contact_id].append(row)
    return found


def contact_dates(session: Session, contact_id: int) -> list[ContactDate]:
    """A contact's important dates, by kind then date, in one query."""
    query = select(ContactDate).where(ContactDate.contact_id == contact_id).order_by(ContactDate.kind,
                                                                                     ContactDate.date)
    return list(session.scalars(query))
