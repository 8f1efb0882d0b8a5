"""Bounces and complaints applied to the outbox and to the contacts: what EmailFeedback means for Herald.

- hard bounce (the address does not take mail): the message fails with the server's words, every
  contact with that address gets email consent "bounced", the address goes on the suppression list,
  and their email messages still pending are suppressed — the next campaign skips them and counts them.
- complaint (the recipient pressed "this is spam"): consent "complained", pending mail suppressed the same
  way; the message keeps its status (it was delivered) and gets a "complained" event.
- soft bounce (mailbox full, server down, policy block): the message fails if the report says delivery
  was given up, and gets a "bounced" event marked soft; the contact stays reachable.
- delay: an event only; the sending server is still trying.
- unsubscribe (the provider's own unsubscribe link, e.g. SendGrid's): consent "unsubscribed" and pending
  mail suppressed, like Herald's own link; the address is not put on the suppression list.

The message is found by Herald's id (from our Message-ID or the provider's custom field), by provider
id, or else as the latest email sent to the address. An id from the report is believed only when the
message went to the address the report names: a bounce mailbox takes mail from anyone, and a forged
report must not be able to unsubscribe someone else by guessing ids.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from audiences import Contact, add_suppressions, set_consent
from campaigns import queries
from campaigns.models import Message
from channels.email_feedback import EmailFeedback
from core.errors import NotFound

log = logging.getLogger("herald.bounces")

EVENT_TYPES = {"bounce": "bounced", "delay": "delayed", "complaint": "complained", "unsubscribe": "unsubscribed"}


@dataclass
class FeedbackApplied:
    """What one batch of feedback did, for the webhook's log line and the tests."""

    events: int = 0  # message events recorded
    unmatched: int = 0  # feedback for no message Herald sent (consent still applied to the address)
    consent_changed: int = 0  # contacts whose email consent became bounced/complained
    suppressed: int = 0  # pending email messages that will now not be sent


def apply_email_feedback(session: Session, feedback: Sequence[EmailFeedback], *, now: datetime) -> FeedbackApplied:
    """Apply bounces, delays and complaints (see the module doc); commits. Duplicates are harmless."""
    applied = FeedbackApplied()
    for item in feedback:
        address = item.address.strip().lower()
        message = _find_message(session, item, address)
        if message is None:
            applied.unmatched += 1
            log.info("event=email_feedback_unmatched kind=%s source=%s status=%s", item.kind, item.source, item.status)
        else:
            _record_on_message(session, message, item, now=now)
            applied.events += 1
        consent = {"complaint": "complained", "unsubscribe": "unsubscribed",
                   "bounce": "bounced" if item.hard else None}.get(item.kind)
        if consent is None:
            continue
        contact_ids = set(session.scalars(select(Contact.id).where(func.lower(Contact.email) == address)))
        if message is not None:
            contact_ids.add(message.contact_id)
        session.commit()  # the message's event and status first: set_consent commits on its own
        for contact_id in sorted(contact_ids):
            try:
                set_consent(session, contact_id, "email", consent, source=_source(item), now=now)
            except NotFound:  # deleted meanwhile
                continue
            applied.consent_changed += 1
        if consent != "unsubscribed":  # an opt-out is the contact's choice, a dead or hostile address the address's
            # The address itself goes on the suppression list too: a contact imported later with it is skipped.
            reason = f"{consent}: {item.reason or item.status}"[:200]
            add_suppressions(session, [address], channel="email", reason=reason, source=_source(item),
                             default_region="US", now=now)  # the region only matters for phones
        applied.suppressed += _suppress_pending(session, contact_ids, consent, item, now=now)
        log.info("event=email_%s source=%s status=%s contacts=%d", consent, item.source, item.status,
                 len(contact_ids))
    session.commit()
    return applied


def suppress_bounced_addresses(session: Session, messages: Sequence[Message], *, now: datetime) -> int:
    """Addresses refused as non-existent at send time (the dispatcher already set the contacts' consent):
    on the suppression list, and the contacts' other pending email suppressed. Commits; returns pending rows
    suppressed."""
    if not messages:
        return 0
    addresses = sorted({(m.address or "").lower() for m in messages if m.address})
    add_suppressions(session, addresses, channel="email", reason="bounced: refused at send time as unknown",
                     source="smtp", default_region="US", now=now)
    item = EmailFeedback(kind="bounce", address="", hard=True, source="smtp")
    return _suppress_pending(session, {m.contact_id for m in messages}, "bounced", item, now=now)


def _find_message(session: Session, item: EmailFeedback, address: str) -> Message | None:
    found = queries.find_messages(session, message_ids={item.message_id} if item.message_id is not None else set(),
                                  provider_ids={item.provider_id} if item.provider_id else set())
    for message in found:
        if message.channel == "email" and (message.address or "").lower() == address:
            return message
    # No id, or one that does not fit the address: the latest email Herald sent to this address.
    return session.scalar(select(Message).where(Message.channel == "email", func.lower(Message.address) == address,
                                                Message.sent_at.is_not(None))
                          .order_by(Message.sent_at.desc(), Message.id.desc()).limit(1))


def _record_on_message(session: Session, message: Message, item: EmailFeedback, *, now: datetime) -> None:
    detail: dict[str, Any] = {"source": item.source, "address": item.address}
    for key, value in (("status", item.status), ("reason", item.reason), ("provider_id", item.provider_id)):
        if value:
            detail[key] = value
    if item.kind == "bounce":
        detail["hard"] = item.hard
        moved = queries.move_message_status(session, message_id=message.id, status="failed", values={
            "error_code": (item.status or "bounced")[:50],
            "error_reason": f"bounced ({'hard' if item.hard else 'soft'}): {item.reason or item.status}",
            "updated_at": now, "lease_expires_at": None,
        })
        detail["status_moved"] = moved
    kind = EVENT_TYPES[item.kind]
    queries.add_events(session, [{"message_id": message.id, "type": kind, "occurred_at": item.occurred_at or now,
                                  "detail": detail}])


def _suppress_pending(session: Session, contact_ids: set[int], consent: str, item: EmailFeedback, *,
                      now: datetime) -> int:
    if not contact_ids:
        return 0
    result = session.execute(
        update(Message)
        .where(Message.contact_id.in_(contact_ids), Message.channel == "email", Message.status == "pending")
        .values(status="suppressed", error_code=consent,
                error_reason=f"not sent: the address {consent} ({_source(item)})", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount or 0


def _source(item: EmailFeedback) -> str:
    return f"{item.source} {item.kind} {item.status}".strip()
