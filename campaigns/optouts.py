"""Provider answers that say something lasting about a recipient become their consent on the channel.

A channel marks such an answer (Refused.consent / ChannelEvent.consent): Twilio's 21610 means the
recipient texted STOP ("unsubscribed"); an invalid number or a landline means nothing will ever get
through ("bounced"). Recording it as consent makes the next campaign skip the contact and count them
(materialise: suppressed, opted_out) instead of paying for the same refusal again, forever.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from audiences import PROVIDER_SOURCE, set_consent
from core.errors import NotFound

log = logging.getLogger("herald.optouts")


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
