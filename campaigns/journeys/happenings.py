"""Did it happen? The SQL a journey asks about one contact's events since a moment: a wait-for-event step,
the goal and the exit events.

Herald's own happenings are read where they are already recorded, never copied into contact_events:
`clicked` a message of this journey (message_events, machine clicks left out as segments do), `replied`
(replies), `purchased` (conversions), `unsubscribed` (consent_changes, any channel). Any other name is
an event sent to POST /api/v1/events (contact_events). Each is one correlated EXISTS on an index that
leads with the contact, so a wait step over a million enrolments is still one statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, false, func, or_, select

from audiences import ConsentChange
from audiences.models import ContactEvent
from campaigns.models import Conversion, Message, MessageEvent
from campaigns.responses.inbox_models import Reply


def happened(event: str, *, contact_id: Any, journey_id: Any, since: Any, now: datetime) -> ColumnElement[bool]:
    """SQL: `event` happened to the contact (`contact_id`, a column) after `since` (a column) and by `now`."""
    if event == "clicked":
        machine = MessageEvent.detail["machine"].as_boolean()
        return exists().where(Message.contact_id == contact_id, Message.journey_id == journey_id,
                              MessageEvent.message_id == Message.id, MessageEvent.type == "clicked",
                              MessageEvent.occurred_at >= since, MessageEvent.occurred_at <= now,
                              or_(machine.is_(None), machine == false()))
    if event == "replied":
        return exists().where(Reply.contact_id == contact_id, Reply.received_at >= since, Reply.received_at <= now)
    if event == "purchased":
        return exists().where(Conversion.contact_id == contact_id, Conversion.occurred_at >= since,
                              Conversion.occurred_at <= now)
    if event == "unsubscribed":
        return exists().where(ConsentChange.contact_id == contact_id, ConsentChange.status == "unsubscribed",
                              ConsentChange.changed_at >= since, ConsentChange.changed_at <= now)
    return exists().where(ContactEvent.contact_id == contact_id, ContactEvent.name == event,
                          ContactEvent.occurred_at >= since, ContactEvent.occurred_at <= now)


def first_purchase(*, contact_id: Any, since: Any, now: datetime) -> Any:
    """SQL: the id of the contact's first conversion after `since` (a scalar subquery; NULL when none)."""
    return (select(func.min(Conversion.id))
            .where(Conversion.contact_id == contact_id, Conversion.occurred_at >= since, Conversion.occurred_at <= now)
            .scalar_subquery())
