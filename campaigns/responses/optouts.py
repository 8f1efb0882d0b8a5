"""Provider answers that say something lasting about a recipient become their consent on the channel.

A channel marks such an answer (Refused.consent / ChannelEvent.consent): Twilio's 21610 means the
recipient texted STOP ("unsubscribed"); an invalid number or a landline means nothing will ever get
through ("bounced"). Recording it as consent makes the next campaign skip the contact and count them
(materialise: suppressed, opted_out) instead of paying for the same refusal again, forever.

An opt-out is also an unsubscribe *of the campaign whose message it answers*: whether the recipient
clicked the link, replied 退订 / ＴＤ / STOP (campaigns/responses/replies.py, on the last SMS sent to them), or the
provider refused the message because they had opted out (Twilio 21610). Each puts an "unsubscribed"
event on that message, the one event type the reports count unsubscribes from (with "complained":
a complaint is an opt-out the recipient did not ask for politely).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from audiences import PROVIDER_SOURCE, set_consent
from core.errors import NotFound

log = logging.getLogger("herald.optouts")

# Message events the reports count as an unsubscribe from the campaign (campaigns/results/report_queries.py).
OPT_OUT_EVENTS = ("unsubscribed", "complained")


def opt_out_event(message_id: int, *, via: str, at: datetime, **detail: Any) -> dict[str, Any]:
    """The "unsubscribed" event row for an opt-out that answers `message_id` (for queries.add_events).

    `via` says how the recipient opted out: "reply", "provider" (a provider code such as Twilio 21610)."""
    return {"message_id": message_id, "type": "unsubscribed", "occurred_at": at,
            "detail": {"via": via, **{k: v for k, v in detail.items() if v is not None}}}


def record_refusal_consent(session: Session, refusals: Iterable[tuple[int, str, str, str]], *,
                           now: datetime) -> int:
    """Set consent for each (contact_id, channel, status, provider code); commits. Returns how many were set.

    Called after the answers themselves are recorded, so a failure here never loses a message's status.
    """
    done = 0
    for contact_id, channel, status, code in dict.fromkeys(refusals):
        try:
            set_consent(session, contact_id, channel, status, source=f"{PROVIDER_SOURCE} {code}", now=now)
        except NotFound:  # the contact was deleted meanwhile; nothing left to protect
            continue
        done += 1
        log.info("event=consent_from_provider contact_id=%d channel=%s status=%s code=%s", contact_id, channel,
                 status, code)
    return done
