"""Twilio's webhooks: status callbacks (MessageStatus, ErrorCode, Price, NumSegments) parsed into Herald's
channel events, inbound SMS parsed into replies, both checked against X-Twilio-Signature, and the TwiML
answer to an inbound message. Sending is channels/twilio.py."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from twilio.request_validator import RequestValidator, get_signature_algorithm

from channels.base import (
    ChannelEvent,
    WebhookRejected,
)
from channels.inbound import InboundSms
from channels.twilio import CONSENT_EFFECTS, ERROR_CODES, SCHEME, int_or_none, price_or_none

# Twilio's MessageStatus values (Message resource, "Message Status values") in Herald's words. Every
# status Twilio documents for an outbound message is listed; anything else is refused by name.
STATUS_MAP: dict[str, str] = {
    "accepted": "queued",  # a Messaging Service took it and will pick a sender
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "read": "read",  # WhatsApp / RCS read receipts
}


def parse_twilio_webhook(*, url: str, form: Mapping[str, str], headers: Mapping[str, str],
                         auth_token: str) -> list[ChannelEvent]:
    """Check a status callback's X-Twilio-Signature and turn it into one ChannelEvent.

    `url` is the full URL Twilio requested (scheme, host, path and query as Twilio saw them, which
    behind a proxy is the public URL). When its last path segment is a number it is taken as Herald's
    message id (`{base_url}/webhooks/twilio/status/{message_id}`). Raises WebhookRejected: 403 for a
    missing or wrong signature, 400 for a missing or unknown status or a missing MessageSid.
    """
    check_twilio_signature(url=url, form=form, headers=headers, auth_token=auth_token, what="status callback")
    provider_status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip()
    if not provider_status:
        raise WebhookRejected("Twilio status callback has no MessageStatus", 400)
    if provider_status not in STATUS_MAP:
        known = ", ".join(STATUS_MAP)
        raise WebhookRejected(f'Twilio status callback has MessageStatus "{provider_status}", which Herald does not '
                              f"know; known: {known}", 400)
    sid = form.get("MessageSid") or form.get("SmsSid")
    if not sid:
        raise WebhookRejected("Twilio status callback has no MessageSid", 400)
    code = (form.get("ErrorCode") or "").strip() or None
    reason = (form.get("ErrorMessage") or "").strip() or None
    if code and not reason and code.isdigit() and int(code) in ERROR_CODES:
        reason = ERROR_CODES[int(code)][1]
    price = price_or_none(form.get("Price"))
    last_segment = urlsplit(url).path.rstrip("/").rpartition("/")[2]
    return [ChannelEvent(
        status=STATUS_MAP[provider_status],
        provider_id=sid,
        message_id=int(last_segment) if last_segment.isdigit() else None,
        error_code=code,
        error_reason=reason,
        provider_status=provider_status,
        price=price,
        currency=(form.get("PriceUnit") or None) if price is not None else None,
        segments=int_or_none(form.get("NumSegments")),
        consent=CONSENT_EFFECTS.get(code or "") if STATUS_MAP[provider_status] == "failed" else None,
    )]


def check_twilio_signature(*, url: str, form: Mapping[str, str], headers: Mapping[str, str], auth_token: str,
                           what: str) -> None:
    """Raise WebhookRejected (403) unless X-Twilio-Signature signs `url` and `form` with `auth_token`.

    `url` is what Twilio requested, as Twilio saw it: behind a proxy, the public URL ([app] base_url).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    signature = lower.get("x-twilio-signature", "")
    if not signature:
        raise WebhookRejected(f"Twilio {what} without an X-Twilio-Signature header; refused", 403)
    algorithm = get_signature_algorithm(lower.get("x-twilio-webhooks-signature-settings", ""))
    validator = RequestValidator(auth_token)
    if not (_signs_url_as_given(validator, url, form, signature, algorithm)
            or validator.validate(url, form, signature, algorithm)):
        raise WebhookRejected(
            f"Twilio {what} for {url} has a signature that does not match; check that the auth token in "
            "[channels.sms] url is the account's primary token and that [app] base_url is the public URL", 403
        )


def _signs_url_as_given(validator: RequestValidator, url: str, form: Mapping[str, str], signature: str,
                        algorithm: str) -> bool:
    """Whether `signature` signs `url` exactly as Herald rebuilt it, which is what Twilio signed when the
    base URL is the one it called: one HMAC. RequestValidator.validate always computes two (the URL with and
    without its port) and parses the URL twice; it stays the fallback, so what it accepts is still accepted.
    """
    if "?" in url:  # a bodySHA256 query changes what is signed: validate's job
        return False
    try:
        expected = validator.compute_signature(url, form, algorithm)
    except ValueError:  # an algorithm the SDK does not know; validate refuses it and logs why
        return False
    return hmac.compare_digest(expected.encode(), signature.encode())


def parse_twilio_inbound(*, url: str, form: Mapping[str, str], headers: Mapping[str, str],
                         auth_token: str) -> InboundSms:
    """Check an incoming-message webhook's signature and read the SMS (From, To, Body, MessageSid, NumSegments).

    Raises WebhookRejected: 403 for a missing or wrong signature, 400 without MessageSid or From.
    """
    check_twilio_signature(url=url, form=form, headers=headers, auth_token=auth_token, what="incoming message")
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
    if not sid:
        raise WebhookRejected("Twilio incoming message has no MessageSid", 400)
    sender = (form.get("From") or "").strip()
    if not sender:
        raise WebhookRejected("Twilio incoming message has no From", 400)
    return InboundSms(provider=SCHEME, provider_id=sid, from_number=sender, to_number=(form.get("To") or "").strip(),
                      body=form.get("Body") or "", segments=int_or_none(form.get("NumSegments")))


def twiml_message(text: str) -> str:
    """A TwiML answer that sends `text` back to the sender (or sends nothing when it is empty)."""
    if not text:
        return '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
