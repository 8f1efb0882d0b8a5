"""What arrives in the bounce mailbox, applied: bounce reports (RFC 3464), spam complaints from feedback
loops (RFC 5965) and List-Unsubscribe mail.

The scheduler reads [bounces] mailbox_url every mailbox_minutes (scheduler/jobs.py) and hands each
message here. A bounce report goes to campaigns/responses/bounces.py. A mail to the List-Unsubscribe mailto:
address carries "unsubscribe <message id>.<signature>" in its subject (campaigns/delivery/dispatch.py writes it);
the signature is checked, so the recipient is unsubscribed whoever's address the mail comes from —
and a forged one unsubscribes nobody.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from datetime import datetime

from sqlalchemy.orm import Session

from campaigns.responses.bounces import apply_email_feedback
from campaigns.responses.unsubscribe import unsubscribe_recipient
from channels.email_feedback import NotADsn, parse_complaint_report, parse_dsn
from core.errors import NotFound
from core.ids import verify

log = logging.getLogger("herald.mailbox")

_UNSUBSCRIBE = re.compile(r"\bunsubscribe\s+(\d{1,18})\.([0-9a-f]{32})\b", re.IGNORECASE)


def handle_mailbox_message(session: Session, raw: bytes, *, secret_key: str, now: datetime) -> str:
    """Apply one message; returns what it was: "report" (bounce or complaint), "unsubscribe", or "" when not
    understood."""
    feedback = None
    for parse in (parse_dsn, parse_complaint_report):
        try:
            feedback = parse(raw)
            break
        except NotADsn:
            continue
    if feedback is not None:
        applied = apply_email_feedback(session, feedback, now=now)
        log.info("event=mailbox_report reports=%d events=%d consent_changed=%d", len(feedback), applied.events,
                 applied.consent_changed)
        return "report"
    message = email.message_from_bytes(raw, policy=email.policy.default)
    match = _UNSUBSCRIBE.search(str(message.get("Subject", "")))
    if match is None:
        return ""
    message_id, signature = int(match.group(1)), match.group(2)
    if not verify(secret_key, f"u:{message_id}", signature):
        log.warning("event=mailbox_unsubscribe_rejected reason=bad_signature message_id=%d", message_id)
        return ""
    try:
        unsubscribe_recipient(session, message_id, now=now)
    except NotFound:
        log.warning("event=mailbox_unsubscribe_for_deleted_message message_id=%d", message_id)
    log.info("event=mailbox_unsubscribe message_id=%d", message_id)
    return "unsubscribe"
