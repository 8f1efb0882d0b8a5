"""An SMS a recipient sent to us, as a provider's inbound webhook described it.

Channels only parse (twilio.parse_twilio_inbound, http_sms.webhooks.parse_http_sms_inbound); campaigns
stores the reply, matches it to the contact and the message it answers, and acts on its keyword.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class InboundSms:
    provider: str  # "twilio", "http-sms"
    provider_id: str  # the provider's id for this inbound message (Twilio's MessageSid); repeats are one reply
    from_number: str  # as the provider wrote it; campaigns normalises it to E.164
    to_number: str
    body: str
    segments: int | None = None
    received_at: datetime | None = None  # when the provider says it arrived; else when Herald heard of it
