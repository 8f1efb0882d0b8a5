"""Named queries over contacts, lists and consents (only audiences/ touches these tables; others call these)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, case, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from audiences.models import CONTACT_FIELDS, Consent, Contact, ContactDate, ListMember, Segment, Suppression
from audiences.segments import segment_where
from core.errors import Invalid

# The contact column that holds each channel's address.
CHANNEL_ADDRESS = {"email": Contact.email, "sms": Contact.phone}
CHANNELS = tuple(CHANNEL_ADDRESS)

# Every row of an IN (...) list is a bind parameter; SQLite allows 32766 per statement, and smaller
# statements keep PostgreSQL's plans cheap. The importer's chunks stay below this anyway.
IN_LIST_SIZE = 1000


def check_channel(channel: str) -> str:
    if channel not in CHANNEL_ADDRESS:
        raise Invalid(f'channel "{channel}" is not known; known channels: {", ".join(CHANNELS)}', field="channel")
    return channel


def audience_select(list_id: int | None, channel: str, *, segment_rules: dict[str, Any] | None = None,
                    today: date | None = None, operational: bool = False) -> Select[Any]:
    """The recipients of a campaign as one SELECT, not executed: contact_id, address, reachable, time_zone,
    suppressed_listed.

    All contacts, or the members of list `list_id`; with `segment_rules` (a segment's rule tree, see
    audiences/segments/rules.py) only those of them who match the rules on `today` (required then).
    Raises SegmentRuleInvalid for a bad tree. `address` is the email (channel "email") or the
    phone (channel "sms") and may be NULL. `reachable` is 1 when there is an address and the contact's
    consent for that channel is absent (opt-out model) or "subscribed", else 0. `suppressed_listed` is 1
    when the address is on the global suppression list for the channel, else 0 — always 0 for an
    `operational` audience (a notice explicitly marked operational, such as a venue change, is the one
    kind of message the list does not stop), and then the suppression table is not joined at all.

    campaigns wraps this in INSERT … SELECT to materialise a run, so it must stay a single SELECT with
    no ORDER BY or LIMIT, and use only SQL that SQLite and PostgreSQL share (CASE, LEFT OUTER JOIN).
    """
    address = CHANNEL_ADDRESS[check_channel(channel)]
    consent_ok = or_(Consent.status.is_(None), Consent.status == "subscribed")
    reachable = case((and_(address.is_not(None), address != "", consent_ok), 1), else_=0)
    if operational:
        listed: Any = literal(0, Integer)
    else:
        listed = case((Suppression.id.is_not(None), 1), else_=0)
    query = select(Contact.id.label("contact_id"), address.label("address"), reachable.label("reachable"),
                   Contact.time_zone.label("time_zone"), listed.label("suppressed_listed")).select_from(Contact)
    if list_id is not None:
        query = query.join(ListMember, and_(ListMember.contact_id == Contact.id, ListMember.list_id == list_id))
    if segment_rules is not None:
        if today is None:
            raise ValueError("audience_select: segment_rules need `today` (birthdays and day counts depend on it)")
        query = query.where(segment_where(segment_rules, today=today))
    # The channel condition sits in the ON clause, not the WHERE: a contact with no consent row for
    # this channel must still come out (with NULL status), or opt-out-by-default would drop them.
    query = query.outerjoin(Consent, and_(Consent.contact_id == Contact.id, Consent.channel == channel))
    if not operational:
        # At most one row per address (unique (channel, address)), so the join never repeats a contact.
        query = query.outerjoin(Suppression, and_(Suppression.channel == channel, Suppression.address == address))
    return query


def _chunks(values: Collection[Any], size: int = IN_LIST_SIZE) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_contacts_by_keys(
    session: Session, *, external_ids: Collection[str], emails: Collection[str], phones: Collection[str]
) -> list[dict[str, Any]]:
    """Contacts holding any of these keys, as plain dicts (id, the CONTACT_FIELDS, attributes), by id.

    One SELECT per key kind (per IN_LIST_SIZE keys), so an import chunk costs three queries, not one per row.
    """
    columns = [Contact.id, *(getattr(Contact, f) for f in CONTACT_FIELDS), Contact.attributes]
    found: dict[int, dict[str, Any]] = {}
    for column, values in ((Contact.external_id, external_ids), (Contact.email, emails), (Contact.phone, phones)):
        for part in _chunks(values):
            for row in session.execute(select(*columns).where(column.in_(part))).mappings():
                found.setdefault(row["id"], dict(row))
    return [found[key] for key in sorted(found)]


def insert_list_members(session: Session, *, list_id: int, contact_ids: Collection[int], now: datetime) -> int:
    """Add contacts to a list, skipping those already on it. Does not commit. Returns how many were added."""
    added = 0
    for part in _chunks(set(contact_ids)):
        present = set(
            session.scalars(
                select(ListMember.contact_id).where(ListMember.list_id == list_id, ListMember.contact_id.in_(part))
            )
        )
        rows = [{"list_id": list_id, "contact_id": cid, "added_at": now} for cid in sorted(set(part) - present)]
        if rows:
            session.execute(insert(ListMember), rows)
            added += len(rows)
    return added


def existing_contact_ids(session: Session, contact_ids: Collection[int]) -> set[int]:
    found: set[int] = set()
    for part in _chunks(set(contact_ids)):
        found.update(session.scalars(select(Contact.id).where(Contact.id.in_(part))))
    return found


# ------------------------------------------------------------------ contacts, read for other packages
def recent_attribute_names(session: Session, *, sample: int) -> set[str]:
    """Custom attribute names found on the `sample` most recent contacts (highest ids). One query."""
    recent = select(Contact.attributes).order_by(Contact.id.desc()).limit(sample)
    names: set[str] = set()
    for attributes in session.scalars(recent):
        names.update(attributes or {})
    return names


def first_contact(session: Session) -> Contact | None:
    """The contact with the lowest id, or None when there is none. One query."""
    return session.scalars(select(Contact).order_by(Contact.id).limit(1)).first()


def contact_ids_by_phone(session: Session, phone: str) -> list[int]:
    """Ids of the contacts whose phone is `phone` (E.164), lowest first; index ix_contacts_phone. One query."""
    return list(session.scalars(select(Contact.id).where(Contact.phone == phone).order_by(Contact.id)))


def contacts_by_id(session: Session, contact_ids: Collection[int]) -> dict[int, Contact]:
    """{id: Contact} for these ids; ids that name no contact are left out. One query per IN_LIST_SIZE ids."""
    found: dict[int, Contact] = {}
    for part in _chunks(set(contact_ids)):
        found.update((c.id, c) for c in session.scalars(select(Contact).where(Contact.id.in_(part))))
    return found


def audience_version(session: Session) -> tuple[Any, ...]:
    """A fingerprint of everything an audience count reads — contacts, their dates, consents, the suppression
    list, list members, segments — that changes whenever any of it does (counts catch deletes, maxima catch
    edits). One statement of indexed aggregates: what a cache of audience figures is keyed by."""
    parts = [select(func.count(Contact.id)), select(func.max(Contact.updated_at)),
             select(func.count(Consent.id)), select(func.max(Consent.changed_at)),
             select(func.count(Suppression.id)), select(func.count()).select_from(ListMember),
             select(func.max(ListMember.added_at)), select(func.max(Segment.updated_at)),
             select(func.count(ContactDate.id)), select(func.max(ContactDate.id))]
    return tuple(session.execute(select(*(part.scalar_subquery() for part in parts))).one())
