"""Contact events from other systems (POST /api/v1/events): checked, matched to contacts, recorded once by the
client's id — a batch of up to MAX_BATCH in a few statements, not a round trip per event.

An event names its contact by external_id, email or phone (the first that finds one wins, in that order).
An unknown contact is rejected, or created when the caller asks and gives an email or a phone number.
Herald's own happenings (clicked, replied, purchased, unsubscribed) are recorded where they happen and
are refused here by name, so a journey waiting for "purchased" reads conversions only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from audiences.contacts.records import normalise_email, normalise_phone
from audiences.models import Contact, ContactEvent
from audiences.queries import find_contacts_by_keys
from core.errors import Invalid

MAX_BATCH = 1000
MAX_PROPERTIES_BYTES = 16_384
EVENT_FIELDS = ("id", "name", "contact", "properties", "occurred_at")
CONTACT_KEYS = ("external_id", "email", "phone")
RESERVED = {"clicked": "recorded from the tracked link", "replied": "recorded from the SMS reply",
            "purchased": "sent to POST /api/v1/conversions", "unsubscribed": "recorded from the unsubscribe"}
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True)
class EventInput:
    client_id: str
    name: str
    keys: Mapping[str, str]  # normalised external_id / email / phone
    properties: dict[str, Any]
    occurred_at: datetime


@dataclass
class EventOutcome:
    """What became of one event of a request, in request order: recorded, duplicate or rejected."""

    index: int
    client_id: str | None
    status: str
    event_id: int | None = None
    contact_id: int | None = None
    field: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class EventReport:
    outcomes: list[EventOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def check_event(raw: Any, *, now: datetime, region: str) -> EventInput:
    """One event of the request, checked. Raises Invalid naming the field and the fix."""
    if not isinstance(raw, dict):
        raise Invalid("an event is a JSON object with id, name and contact", field="events")
    for key in raw:
        if key not in EVENT_FIELDS:
            raise Invalid(f'"{key}" is not a field of an event; known fields: {", ".join(EVENT_FIELDS)}', field=key)
    client_id = raw.get("id")
    if not isinstance(client_id, str) or not 1 <= len(client_id.strip()) <= 100:
        raise Invalid("id is your system's id of the event (1 to 100 characters): sending it again records nothing "
                      "new", field="id")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise Invalid("name should be 1 to 100 of letters, digits and _ . : - (e.g. order_shipped)", field="name")
    if name in RESERVED:
        raise Invalid(f'"{name}" is one of Herald\'s own events, {RESERVED[name]}; name yours differently',
                      field="name")
    keys = _contact_keys(raw.get("contact"), region=region)
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        raise Invalid("properties should be a JSON object", field="properties")
    if len(json.dumps(properties, ensure_ascii=False).encode()) > MAX_PROPERTIES_BYTES:
        raise Invalid(f"properties are larger than {MAX_PROPERTIES_BYTES:,} bytes; send what templates and journeys "
                      "need", field="properties")
    return EventInput(client_id.strip(), name, keys, properties, _moment(raw.get("occurred_at"), now))


def _contact_keys(raw: Any, *, region: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not any(raw.get(k) for k in CONTACT_KEYS) or set(raw) - set(CONTACT_KEYS):
        raise Invalid('contact should name the contact by external_id, email or phone, e.g. {"email": '
                      '"ann@example.com"}', field="contact")
    keys = {}
    for key in CONTACT_KEYS:
        value = raw.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise Invalid(f"contact.{key} should be a string", field=f"contact.{key}")
        if key == "email":
            value = normalise_email(value, label="contact.email")
        elif key == "phone":
            value = normalise_phone(value, region=region, label="contact.phone")
        keys[key] = value.strip()
    return keys


def _moment(raw: Any, now: datetime) -> datetime:
    if raw is None:
        return now
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Invalid("occurred_at should be an ISO 8601 time with its offset, e.g. 2026-05-01T09:30:00+08:00",
                      field="occurred_at")
    return moment


def record_events(session: Session, raw_events: Sequence[Any], *, now: datetime, region: str,
                  create_contacts: bool = False, source: str = "api") -> EventReport:
    """Check, match and record a batch (each event once by its id); rejected ones are reported, not raised.
    Raises Invalid for a batch over MAX_BATCH. Commits."""
    if len(raw_events) > MAX_BATCH:
        raise Invalid(f"a batch holds at most {MAX_BATCH:,} events; this one has {len(raw_events):,}", field="events")
    report, ready = EventReport(), []
    for index, raw in enumerate(raw_events):
        try:
            ready.append((index, check_event(raw, now=now, region=region)))
        except Invalid as exc:
            client_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            report.outcomes.append(EventOutcome(index, client_id, "rejected", field=exc.field, reason=exc.message))
    contacts = _match_contacts(session, [e for _, e in ready], create=create_contacts, now=now)
    rows = []
    for index, event in ready:
        contact_id = contacts.get(_first_key(event.keys))
        if contact_id is None:
            if not create_contacts:
                why = "no contact has this external_id, email or phone; send create_contacts: true to create it"
            else:
                why = "no contact has this external_id; give an email or a phone number to create the contact"
            report.outcomes.append(EventOutcome(index, event.client_id, "rejected", field="contact", reason=why))
            continue
        rows.append((index, event, contact_id))
    recorded = _insert_events(session, rows, now=now, source=source)
    for index, event, contact_id in rows:
        event_id = recorded.pop(event.client_id, None)  # an id twice in one batch: the second is a duplicate
        report.outcomes.append(EventOutcome(index, event.client_id, "recorded" if event_id else "duplicate",
                                            event_id=event_id, contact_id=contact_id))
    session.commit()
    report.outcomes.sort(key=lambda o: o.index)
    return report


def _first_key(keys: Mapping[str, str]) -> tuple[str, str]:
    name = next(k for k in CONTACT_KEYS if k in keys)
    return name, keys[name]


def _match_contacts(session: Session, events: Collection[EventInput], *, create: bool,
                    now: datetime) -> dict[tuple[str, str], int]:
    """{(key, value): contact id} for each event's identifying key; unknown ones created when `create` and
    the event has an email or phone. Three lookups for the batch (audiences.queries.find_contacts_by_keys)."""
    wanted = {k: {e.keys[k] for e in events if k in e.keys} for k in CONTACT_KEYS}
    found: dict[tuple[str, str], int] = {}
    for row in find_contacts_by_keys(session, external_ids=wanted["external_id"], emails=wanted["email"],
                                     phones=wanted["phone"]):
        for key in CONTACT_KEYS:
            if row.get(key):
                found.setdefault((key, row[key]), row["id"])
    matched: dict[tuple[str, str], int] = {}
    for event in events:
        first = _first_key(event.keys)
        hit = next((h for h in (found.get((k, v)) for k, v in event.keys.items()) if h is not None), None)
        if hit is None and create and ("email" in event.keys or "phone" in event.keys):
            contact = Contact(**dict(event.keys), attributes={}, source="events API", created_at=now, updated_at=now)
            session.add(contact)
            session.flush()
            hit = contact.id
            for key, value in event.keys.items():
                found[(key, value)] = hit
        if hit is not None:
            matched[first] = hit
    return matched


def _insert_events(session: Session, rows: Sequence[tuple[int, EventInput, int]], *, now: datetime,
                   source: str) -> dict[str, int]:
    """Insert the events whose client id is new (ON CONFLICT DO NOTHING: two requests racing with one id
    record it once); {client id: event id} of those inserted by this call."""
    if not rows:
        return {}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = [{"client_id": e.client_id, "name": e.name, "contact_id": contact_id, "properties": e.properties,
               "occurred_at": e.occurred_at, "received_at": now, "source": source} for _, e, contact_id in rows]
    table = ContactEvent.__table__
    inserted = session.execute(dialect.insert(table).values(values).on_conflict_do_nothing(
        index_elements=["client_id"]).returning(table.c.client_id, table.c.id)).all()
    return dict(inserted)


def events_by_id(session: Session, event_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """{id: {"name", "properties"}} of these events, for templates (event.properties.order_no). One query."""
    if not event_ids:
        return {}
    rows = session.execute(select(ContactEvent.id, ContactEvent.name, ContactEvent.properties)
                           .where(ContactEvent.id.in_(sorted(event_ids))))
    return {i: {"name": name, "properties": dict(properties or {})} for i, name, properties in rows}


def contact_events(session: Session, contact_id: int, *, limit: int = 50) -> list[ContactEvent]:
    """A contact's newest events first (the contact timeline)."""
    return list(session.scalars(select(ContactEvent).where(ContactEvent.contact_id == contact_id)
                                .order_by(ContactEvent.occurred_at.desc(), ContactEvent.id.desc()).limit(limit)))
