"""/api/v1/events: what a contact did in another system ("order_shipped"), one at a time or in batches of up
to 1,000 — each recorded once by the sender's own id, so a retry after a timeout doubles nothing. Journeys
enter on these events and wait for them; templates show their properties (campaigns/journeys/)."""

from __future__ import annotations

from typing import Any

import audiences
from core.errors import Invalid
from web.api import bp, config, json_body, now, reject_unknown, token_required
from web.db import get_session


def _create_contacts(data: dict[str, Any]) -> bool:
    value = data.pop("create_contacts", False)
    if not isinstance(value, bool):
        raise Invalid("create_contacts should be true or false", field="create_contacts")
    return value


@bp.post("/events")
@token_required("write")
def record_event():
    """201 with the event recorded; 200 when its id was recorded before (duplicate: true); 422 naming the field
    when it cannot be recorded (unknown contact, a reserved name, a bad time)."""
    data = json_body()
    create = _create_contacts(data)
    report = audiences.record_events(get_session(), [data], now=now(), region=config().default_region,
                                     create_contacts=create)
    [outcome] = report.outcomes
    if outcome.status == "rejected":
        raise Invalid(outcome.reason or "the event cannot be recorded", field=outcome.field)
    body = outcome.to_dict() | {"duplicate": outcome.status == "duplicate"}
    return body, 201 if outcome.status == "recorded" else 200


@bp.post("/events/batch")
@token_required("write")
def record_event_batch():
    """200 with one result per event, in order: recorded, duplicate or rejected with the field and reason."""
    data = json_body()
    create = _create_contacts(data)
    reject_unknown(data, ("events",))
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise Invalid(f"events should be a list of 1 to {audiences.MAX_EVENTS:,} events", field="events")
    report = audiences.record_events(get_session(), events, now=now(), region=config().default_region,
                                     create_contacts=create)
    return {"recorded": report.count("recorded"), "duplicates": report.count("duplicate"),
            "rejected": report.count("rejected"), "results": [o.to_dict() for o in report.outcomes]}
