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

from campaigns import queries
from campaigns.models import Message
from campaigns.optouts import record_refusal_consent
from channels import ChannelEvent

log = logging.getLogger("herald.callbacks")

# Herald's event statuses that move a message; "queued" and "read" are recorded as events only
# ("queued" says no more than the send result did; "read" is not a delivery state).
MOVING_STATUSES = ("sent", "delivered", "failed")


def apply_channel_events(session: Session, events: Sequence[ChannelEvent], *, now: datetime) -> int:
    """Apply provider events to their messages; commits. Returns how many events changed a message row.

    Messages are found by Herald id or provider id in one query. An event for no known message is
    logged and skipped. A price replaces the estimated cost (and currency); a segment count replaces
    the estimate.
    """
    found = queries.find_messages(
        session,
        message_ids={e.message_id for e in events if e.message_id is not None},
        provider_ids={e.provider_id for e in events if e.provider_id},
    )
    by_id = {m.id: m for m in found}
    by_provider_id = {m.provider_id: m for m in found if m.provider_id}
    changed = 0
    new_events: list[dict[str, Any]] = []
    opting_out: list[tuple[Message, ChannelEvent]] = []  # failures that say the number opted out or is dead
    for event in events:
        message = by_id.get(event.message_id) if event.message_id is not None else None
        message = message or by_provider_id.get(event.provider_id or "")
        if message is None:
            log.warning("event=callback_for_unknown_message message_id=%s provider_id=%s status=%s",
                        event.message_id, event.provider_id, event.status)
            continue
        if event.consent:
            opting_out.append((message, event))
        moved = _move_status(session, message, event, now=now)
        updated = _update_facts(session, message, event, now=now)
        changed += moved or updated
        new_events.append({
            "message_id": message.id,
            "type": event.status,
            "occurred_at": event.occurred_at or now,
            "detail": _detail(event, moved),
        })
    queries.add_events(session, new_events)
    session.commit()
    record_refusal_consent(session, [(m.contact_id, m.channel, e.consent, e.error_code or e.provider_status)
                                     for m, e in opting_out], now=now)
    return changed


def _move_status(session: Session, message: Message, event: ChannelEvent, *, now: datetime) -> bool:
    if event.status not in MOVING_STATUSES:
        return False
    at = event.occurred_at or now
    values: dict[str, Any] = {"updated_at": now, "lease_expires_at": None}
    if event.provider_id and not message.provider_id:
        values["provider_id"] = event.provider_id
    if event.status == "sent":
        values["sent_at"] = message.sent_at or at
    elif event.status == "delivered":
        values["delivered_at"] = at
        values["sent_at"] = message.sent_at or at
    else:
        values["error_code"] = event.error_code or event.provider_status or "failed"
        values["error_reason"] = event.error_reason or f"the provider reported {event.provider_status or 'failed'}"
    return queries.move_message_status(session, message_id=message.id, status=event.status, values=values)


def _update_facts(session: Session, message: Message, event: ChannelEvent, *, now: datetime) -> bool:
    """The provider's price and segment count replace Herald's estimates, whatever the status."""
    values: dict[str, Any] = {}
    if event.price is not None:
        currency = (event.currency or message.currency or "").upper() or None
        if message.cost != event.price or message.currency != currency:
            values.update(cost=event.price, currency=currency)
    if event.segments is not None and event.segments != message.segments:
        values["segments"] = event.segments
    if not values:
        return False
    values["updated_at"] = now
    return queries.update_message(session, message_id=message.id, values=values)


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
