"""What providers tell us after sending (status callbacks) applied to the outbox, forward only.

Callbacks arrive late, twice, and out of order ("delivered" before "sent"). So a status only moves
to a higher rank (campaigns.models.MESSAGE_STATUS_RANK), the move is a conditional UPDATE (two
callbacks handled at once cannot undo each other), and every callback is appended as a MessageEvent
with the provider's own words even when nothing moved — duplicates are harmless and still visible.

One exception to "only higher": a row marked `unknown` (its sender stopped before recording) moves
to what the provider reports, because the provider is the one who knows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from campaigns.delivery import callback_queries
from campaigns.responses.optouts import opt_out_event, record_refusal_consent
from channels import ChannelEvent

log = logging.getLogger("herald.callbacks")

# Herald's event statuses that move a message; "queued" and "read" are recorded as events only
# ("queued" says no more than the send result did; "read" is not a delivery state).
MOVING_STATUSES = ("sent", "delivered", "failed")


def apply_channel_events(session: Session, events: Sequence[ChannelEvent], *, now: datetime) -> int:
    """Apply provider events to their messages; commits. Returns how many events changed a message row.

    A message is found by Herald id, else by provider id. An event for no known message is logged and
    skipped. A price replaces the estimated cost (and currency); a segment count replaces the estimate.

    No message is loaded: each event is one conditional UPDATE … RETURNING that moves the status and
    writes the facts together, and all events are one INSERT — the hot path of a callback storm is
    one UPDATE, one INSERT and the commit (on PostgreSQL, for a single event, both in one statement).
    Only an event that changes nothing (a repeat, a late "sent") costs a second UPDATE for its facts
    and, if that changes nothing either, a SELECT to find the row.
    """
    changed = 0
    new_events: list[dict[str, Any]] = []
    opting_out: list[tuple[int, str, ChannelEvent]] = []  # failures saying the number opted out or is dead
    # One event (a Twilio callback) on PostgreSQL: its move and its event row in one statement. With
    # several, the events are written together at the end, in the order they came.
    one_statement = len(events) == 1 and session.get_bind().dialect.name == "postgresql"
    for event in events:
        found, moved, updated, recorded = _apply_one(session, event, now=now, one_statement=one_statement)
        if found is None:
            log.warning("event=callback_for_unknown_message message_id=%s provider_id=%s status=%s",
                        event.message_id, event.provider_id, event.status)
            continue
        message_id, contact_id, channel = found
        if event.consent:
            opting_out.append((contact_id, channel, event))
        changed += moved or updated
        if not recorded:
            new_events.append(_event_row(event, message_id, moved, now=now))
        if event.consent == "unsubscribed":  # a delivery report saying they opted out (Twilio 21610)
            new_events.append(opt_out_event(message_id, via="provider", at=event.occurred_at or now,
                                            code=event.error_code or event.provider_status))
    callback_queries.add_events_now(session, new_events)
    session.commit()
    record_refusal_consent(session, [(contact_id, channel, e.consent, e.error_code or e.provider_status)
                                     for contact_id, channel, e in opting_out], now=now)
    return changed


def _apply_one(session: Session, event: ChannelEvent, *, now: datetime,
               one_statement: bool) -> tuple[tuple[int, int, str] | None, bool, bool, bool]:
    """(message id, contact id, channel) or None if unknown; whether the status moved; whether facts
    changed; whether the event row was written already (PostgreSQL writes it with the move)."""
    facts = _facts(event)
    for match in _matches(event):
        if event.status in MOVING_STATUSES:
            values = _move_values(event, now=now) | facts
            if one_statement:
                row = callback_queries.move_message_and_add_event_by(
                    session, match=match, status=event.status, values=values,
                    event=_event_row(event, 0, True, now=now))
            else:
                row = callback_queries.move_message_by(session, match=match, status=event.status, values=values)
            if row is not None:
                return row, True, False, one_statement
        if facts:
            row = callback_queries.update_message_facts_by(session, match=match, values=facts, now=now)
            if row is not None:
                return row, False, True, False
        row = callback_queries.find_message_by(session, match=match)
        if row is not None:
            return row, False, False, False
    return None, False, False, False


def _event_row(event: ChannelEvent, message_id: int, moved: bool, *, now: datetime) -> dict[str, Any]:
    return {"message_id": message_id, "type": event.status, "occurred_at": event.occurred_at or now,
            "detail": _detail(event, moved)}


def _matches(event: ChannelEvent) -> list[tuple[str, Any]]:
    """Where to look for the event's message, in order: Herald's id, then the provider's."""
    found: list[tuple[str, Any]] = []
    if event.message_id is not None:
        found.append(("id", event.message_id))
    if event.provider_id:
        found.append(("provider_id", event.provider_id))
    return found


def _move_values(event: ChannelEvent, *, now: datetime) -> dict[str, Any]:
    """Plain values for callback_queries.move_message_by, which keeps the row's provider_id and the earlier sent_at."""
    at = event.occurred_at or now
    values: dict[str, Any] = {"updated_at": now, "lease_expires_at": None}
    if event.provider_id:
        values["provider_id"] = event.provider_id
    if event.status == "sent":
        values["sent_at"] = at
    elif event.status == "delivered":
        values["delivered_at"] = at
        values["sent_at"] = at
    else:
        # The provider's word on a message means it took it: the row says so (sent_at) whether or not the send's
        # record lands — a sender that died after the provider took its batch must not turn a carrier's failure
        # into "never sent" (the report's Sent counts every row a provider took; the record would set it).
        values["sent_at"] = at
        values["error_code"] = event.error_code or event.provider_status or "failed"
        values["error_reason"] = event.error_reason or f"the provider reported {event.provider_status or 'failed'}"
    return values


def _facts(event: ChannelEvent) -> dict[str, Any]:
    """The provider's price and segment count, which replace Herald's estimates whatever the status."""
    values: dict[str, Any] = {}
    if event.price is not None:
        values["cost"] = event.price
        values["currency"] = (event.currency or "").upper() or None  # None keeps the row's currency
    if event.segments is not None:
        values["segments"] = event.segments
    return values


def _detail(event: ChannelEvent, moved: bool) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "provider_status": event.provider_status,
        "provider_id": event.provider_id,
        "error_code": event.error_code,
        "error_reason": event.error_reason,
        "price": str(event.price) if event.price is not None else None,
        "currency": event.currency,
        "segments": event.segments,
    }
    detail = {k: v for k, v in detail.items() if v not in (None, "")}
    detail["status_moved"] = moved
    return detail
