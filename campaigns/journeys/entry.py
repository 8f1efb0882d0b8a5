"""Who enters a journey: contacts who match a segment when the scheduler checks, and contacts an event
named in the entry happened to — each entry ONE INSERT … SELECT, with its history in one more.

The re-entry policy is kept by the database (campaigns/journeys/models.py Enrolment): `once` enrols under
the key "once" (unique per journey and contact, so never twice); `after_days` under "at:<time>" and only
when the contact entered no less than N days ago; `every_time` (event entries only) under "event:<id>".
Nobody is enrolled twice at once, whatever the policy (the in-flight unique index). Rows that would break
either are skipped (ON CONFLICT DO NOTHING), so two passes racing on PostgreSQL enrol each contact once.

The entry holdout is a bucket of (contact, journey), the hash idea of campaigns/audience/holdout.py with its
own multipliers, so a contact is in or out of a journey's holdout every time they enter it.

Event entries read contact_events by id after the journey's cursor, and only events received at least
EVENT_SETTLE ago: on PostgreSQL an id is taken when the insert starts but seen only at its commit, so a
cursor right up to now could step over an event still being written. A date-rule occasion (birthday,
renewal) is not an entry yet (definition.py says how to make one from a segment meanwhile).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Integer, String, and_, cast, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from audiences import Contact, get_segment, segment_where
from audiences.models import ContactEvent
from campaigns.audience.holdout import bucket
from campaigns.journeys.definition import Definition
from campaigns.journeys.models import IN_FLIGHT, Enrolment, Journey, JourneyVersion
from campaigns.journeys.transitions import new_tick, record_history
from core.db import UTCDateTime

JOURNEY_HOLDOUT_HASH = (2971215073, 433494437, 10039)
EVENT_SETTLE = timedelta(seconds=5)
_COLUMNS = ["journey_id", "version_id", "contact_id", "entry_key", "step_key", "status", "due_at", "step_entered_at",
            "entered_at", "holdout", "event_id", "seq", "tick", "updated_at"]


def _policy(definition: Definition, contact_id: Any, journey_id: int, now: datetime,
            event_id: Any = None) -> tuple[Any, list[ColumnElement[bool]]]:
    """(entry key SQL, conditions) for the re-entry policy."""
    earlier = Enrolment.__table__.alias("earlier")
    conditions = [~exists().where(earlier.c.journey_id == journey_id, earlier.c.contact_id == contact_id,
                                  earlier.c.status.in_(IN_FLIGHT))]
    if definition.re_entry == "once":
        conditions.append(~exists().where(earlier.c.journey_id == journey_id, earlier.c.contact_id == contact_id))
        return literal("once", String), conditions
    if definition.re_entry == "after_days":
        since = now - timedelta(days=definition.re_entry_days)
        conditions.append(~exists().where(earlier.c.journey_id == journey_id, earlier.c.contact_id == contact_id,
                                          earlier.c.entered_at > since))
        return literal(f"at:{now:%Y-%m-%dT%H:%M:%S}", String), conditions
    return literal("event:", String) + cast(event_id, String), conditions


def _insert(session: Session, rows: Any) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(Enrolment).from_select(_COLUMNS, rows).on_conflict_do_nothing())


def _row(journey: Journey, version: JourneyVersion, definition: Definition, *, contact_id: Any, entry_key: Any,
         event_id: Any, tick: str, now: datetime) -> list[Any]:
    held = bucket(contact_id, journey.id, JOURNEY_HOLDOUT_HASH) < definition.holdout_percent \
        if definition.holdout_percent else literal(False, Boolean)
    at = literal(now, UTCDateTime())
    return [literal(journey.id, Integer), literal(version.id, Integer), contact_id, entry_key,
            literal(definition.start, String), literal("active", String), at, at, at, held, event_id,
            literal(1, Integer), literal(tick, String), at]


def enter_from_segments(session: Session, journey: Journey, version: JourneyVersion, definition: Definition, *,
                        now: datetime) -> int:
    """Enrol the contacts matching each segment entry now who may enter under the re-entry policy; with
    their history. Does not commit. Returns how many entered."""
    entered = 0
    for entry in definition.entry_segments():
        rules = entry["rules"] if "rules" in entry else get_segment(session, entry["segment_id"]).rules
        tick = new_tick()
        key, conditions = _policy(definition, Contact.id, journey.id, now)
        rows = select(*_row(journey, version, definition, contact_id=Contact.id, entry_key=key, event_id=None,
                            tick=tick, now=now)).where(segment_where(rules, today=now.date()), *conditions)
        _insert(session, rows)
        entered += _entered(session, tick, now)
    return entered


def enter_from_events(session: Session, journey: Journey, version: JourneyVersion, definition: Definition, *,
                      now: datetime) -> int:
    """Enrol the contacts of events named in the entry that arrived since the journey's cursor, and move the
    cursor past them. Does not commit. Returns how many entered."""
    names = definition.entry_events()
    if not names:
        return 0
    newest = session.scalar(select(func.max(ContactEvent.id)).where(
        ContactEvent.id > journey.event_cursor, ContactEvent.received_at <= now - EVENT_SETTLE))
    if newest is None:
        return 0
    tick = new_tick()
    key, conditions = _policy(definition, ContactEvent.contact_id, journey.id, now, event_id=ContactEvent.id)
    rows = select(*_row(journey, version, definition, contact_id=ContactEvent.contact_id, entry_key=key,
                        event_id=ContactEvent.id, tick=tick, now=now)).where(
        ContactEvent.name.in_(names), ContactEvent.id > journey.event_cursor, ContactEvent.id <= newest,
        *conditions).order_by(ContactEvent.id)
    _insert(session, rows)
    # Conditional on the cursor read above: a second pass that read the same cursor moves nothing twice.
    session.execute(update(Journey).where(and_(Journey.id == journey.id, Journey.event_cursor == journey.event_cursor))
                    .values(event_cursor=newest).execution_options(synchronize_session=False))
    set_committed_value(journey, "event_cursor", newest)  # written above; the ORM must not write it again
    return _entered(session, tick, now)


def _entered(session: Session, tick: str, now: datetime) -> int:
    record_history(session, tick=tick, to_step=None, why="entered", now=now, first=True)
    return session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.tick == tick)) or 0
