"""Bounce and complaint webhooks of HTTP email providers: signature checks and parsing into EmailFeedback.

SendGrid's Event Webhook signs `timestamp + raw body` with ECDSA P-256/SHA-256; the signature (base64
DER) and the timestamp come in the X-Twilio-Email-Event-Webhook-Signature / -Timestamp headers, the
public key (base64 DER, as the SendGrid settings page shows it) is configured.

Amazon SES reports through SNS: each SNS message is signed with RSA over a canonical "Key\\nValue\\n"
string (SignatureVersion 1: SHA1, 2: SHA256) by the certificate at SigningCertURL. The certificate is
fetched only from https://sns.<region>.amazonaws.com[.cn]/…pem — a message cannot name its own signer —
or read from a configured local file (air-gapped installs, tests). The fetch verifies TLS and follows no
redirect, and the certificate must itself be issued to an SNS host and be valid now, so a certificate
parked anywhere else on amazonaws.com (an S3 bucket answers on `*.s3.amazonaws.com`) signs nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from channels.base import ChannelEvent, WebhookRejected
from channels.email_feedback import EmailFeedback, enhanced_status, herald_message_id, is_hard_bounce

log = logging.getLogger("herald.channels")

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
SENDGRID_MAX_AGE_SECONDS = 600  # SendGrid documents no window; a replay older than this is refused
HERALD_ID_FIELD = "herald_message_id"  # the custom arg https-email:// sets on every message
# A region is letters-dashes-digit (us-east-1, us-gov-west-1, cn-north-1): `sns.s3.amazonaws.com` or
# `sns.x.amazonaws.com` are not SNS, and an S3 bucket named "sns" answers on the first.
_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}\.amazonaws\.com(?:\.cn)?")
# Who SNS's signing certificates are issued to: sns.amazonaws.com, or a regional SNS host.
_SNS_CERTIFICATE_NAME = re.compile(r"sns(?:\.[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})?\.amazonaws\.com(?:\.cn)?")
SNS_CERTIFICATE_CACHE_SIZE = 32  # SNS rotates its certificate rarely; a forger must not grow memory per URL
_SNS_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


# ------------------------------------------------------------------ SendGrid
def load_sendgrid_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key from SendGrid's settings (base64 DER, or PEM). Raises ValueError naming the fix."""
    try:
        if "BEGIN PUBLIC KEY" in text:
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, binascii.Error):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("[bounces] sendgrid_public_key is not the ECDSA verification key SendGrid shows under "
                         "Settings > Mail Settings > Signed Event Webhook; copy it again")
    return key


def parse_sendgrid_events(body: bytes, headers: Mapping[str, str], public_key: ec.EllipticCurvePublicKey, *,
                          now: float | None = None) -> tuple[list[EmailFeedback], list[ChannelEvent]]:
    """Check the signature, then turn bounce, blocked, dropped, deferred and spamreport events into feedback,
    and delivered events into ChannelEvents (the message moves to delivered).

    Raises WebhookRejected: 403 for a missing, wrong or stale signature; 400 for a body that is not
    SendGrid's JSON list of events.
    """
    signature, timestamp = headers.get(SENDGRID_SIGNATURE, ""), headers.get(SENDGRID_TIMESTAMP, "")
    if not signature or not timestamp:
        raise WebhookRejected(f"no {SENDGRID_SIGNATURE} / {SENDGRID_TIMESTAMP} header: turn on the Signed Event "
                              "Webhook in SendGrid's Mail Settings", 403)
    try:
        public_key.verify(base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        raise WebhookRejected("the SendGrid signature does not match the body and the configured public key", 403) \
            from None
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > SENDGRID_MAX_AGE_SECONDS:
        raise WebhookRejected(f"the SendGrid timestamp {timestamp!r} is more than {SENDGRID_MAX_AGE_SECONDS}s "
                              "from now: a replayed request, or this server's clock is wrong", 403)
    try:
        events = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        events = None
    if not isinstance(events, list):
        raise WebhookRejected("the body is not a JSON list of SendGrid events", 400)
    events = [event for event in events if isinstance(event, dict)]
    delivered = [ChannelEvent("delivered", provider_id=str(e.get("sg_message_id", "")).split(".")[0] or None,
                              message_id=_int(e.get(HERALD_ID_FIELD)), provider_status="delivered",
                              error_reason=str(e.get("response") or "") or None, occurred_at=_epoch(e.get("timestamp")))
                 for e in events if e.get("event") == "delivered"]
    return [fb for event in events if (fb := _sendgrid_feedback(event))], delivered


def _sendgrid_feedback(event: dict[str, Any]) -> EmailFeedback | None:
    name = str(event.get("event", ""))
    address = str(event.get("email", "")).strip().lower()
    if not address:
        return None
    reason = str(event.get("reason") or event.get("response") or "")
    status = str(event.get("status") or "") or enhanced_status(reason)
    common = {
        "address": address,
        "message_id": _int(event.get(HERALD_ID_FIELD)) or herald_message_id(str(event.get("smtp-id", ""))),
        "provider_id": str(event.get("sg_message_id", "")).split(".")[0] or None,
        "status": status, "reason": reason, "source": "sendgrid",
        "occurred_at": _epoch(event.get("timestamp")),
    }
    if name == "bounce":
        # type "bounce": the receiving server refused the address; "blocked": it refused this message
        # (content, reputation) — soft, the address itself is fine.
        hard = event.get("type", "bounce") == "bounce" and (
            is_hard_bounce(status, reason) or event.get("bounce_classification") == "Invalid Address")
        return EmailFeedback(kind="bounce", hard=hard, **common)
    if name == "dropped" and "bounced address" in reason.lower():
        return EmailFeedback(kind="bounce", hard=True, **common)  # SendGrid's own list says it bounced before
    if name == "deferred":
        return EmailFeedback(kind="delay", **common)
    if name == "spamreport":
        return EmailFeedback(kind="complaint", **common)
    if name in ("unsubscribe", "group_unsubscribe"):  # SendGrid's own subscription tracking: an opt-out
        return EmailFeedback(kind="unsubscribe", **common)
    return None


# ------------------------------------------------------------------ Amazon SES via SNS
@dataclass(frozen=True)
class SnsSettings:
    topic_arns: tuple[str, ...]  # accepted topics; a message from any other is refused
    certificate_file: str = ""  # a local PEM used instead of fetching SigningCertURL
    confirm_subscriptions: bool = False  # GET the SubscribeURL of a SubscriptionConfirmation


@dataclass(frozen=True)
class SnsResult:
    feedback: list[EmailFeedback]
    note: str  # what was done, for the log and the response body
    delivered: list[ChannelEvent] = field(default_factory=list)


_cert_cache: OrderedDict[str, x509.Certificate] = OrderedDict()  # least recently used first
_cert_lock = threading.Lock()


def parse_sns(body: bytes, settings: SnsSettings, *, now: datetime, fetch: Any = requests.get) -> SnsResult:
    """Verify an SNS message and read the SES bounce/complaint notification in it.

    `now` (aware UTC) is when the signing certificate must be valid.

    A SubscriptionConfirmation is confirmed (its SubscribeURL fetched, from an SNS host only) when
    `confirm_subscriptions` is on; otherwise the note says where to confirm it by hand. Raises
    WebhookRejected: 403 for a bad signature, an unknown topic or a signing certificate from anywhere
    but SNS; 400 for a body that is not an SNS message.
    """
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        message = None
    if not isinstance(message, dict) or message.get("Type") not in _SNS_KEYS:
        raise WebhookRejected("the body is not an Amazon SNS message (JSON with Type Notification or "
                              "SubscriptionConfirmation)", 400)
    topic = str(message.get("TopicArn", ""))
    if topic not in settings.topic_arns:
        raise WebhookRejected(f"SNS topic {topic!r} is not one of [bounces] ses_topic_arns; add it there if it "
                              "is yours", 403)
    _verify_sns(message, settings, fetch, now)
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        url = str(message.get("SubscribeURL", ""))
        if not settings.confirm_subscriptions:
            return SnsResult([], f"subscription to {topic} not confirmed ([bounces] sns_confirm_subscriptions is "
                                 f"off); confirm it by opening {url}")
        if not _is_sns_url(url):
            raise WebhookRejected("SubscribeURL is not an https://sns.<region>.amazonaws.com address", 403)
        try:
            answer = fetch(url, timeout=10, verify=True, allow_redirects=False)
            answer.raise_for_status()
        except requests.RequestException as exc:
            return SnsResult([], f"confirming the subscription to {topic} failed ({exc}); SNS will send it again")
        return SnsResult([], f"subscription to {topic} confirmed")
    if kind == "UnsubscribeConfirmation":
        return SnsResult([], f"unsubscribed from {topic}")
    try:
        notification = json.loads(message.get("Message", ""))
    except ValueError:
        notification = None
    if not isinstance(notification, dict):
        return SnsResult([], "the SNS message is not an SES notification; ignored")
    return SnsResult(parse_ses_notification(notification), "ok", ses_delivery(notification))


def ses_delivery(notification: dict[str, Any]) -> list[ChannelEvent]:
    """An SES Delivery notification as a "delivered" ChannelEvent; any other notification gives nothing."""
    if (notification.get("notificationType") or notification.get("eventType")) != "Delivery":
        return []
    mail = notification.get("mail") or {}
    herald_id = herald_message_id(str((mail.get("commonHeaders") or {}).get("messageId") or
                                      _header(mail, "Message-ID")))
    delivery = notification.get("delivery") or {}
    # Herald sends one recipient per message, so one delivery is one message delivered.
    return [ChannelEvent("delivered", provider_id=str(mail.get("messageId") or "") or None, message_id=herald_id,
                         provider_status="Delivery", error_reason=str(delivery.get("smtpResponse") or "") or None,
                         occurred_at=_iso(delivery.get("timestamp")))]


def parse_ses_notification(notification: dict[str, Any]) -> list[EmailFeedback]:
    """SES Bounce and Complaint notifications (or events, which say eventType) as feedback; others ignored."""
    kind = notification.get("notificationType") or notification.get("eventType")
    mail = notification.get("mail") or {}
    common_headers = mail.get("commonHeaders") or {}
    our_id = str(common_headers.get("messageId") or _header(mail, "Message-ID"))
    herald_id = herald_message_id(our_id)
    provider_id = str(mail.get("messageId") or "") or None
    feedback: list[EmailFeedback] = []
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        permanent = bounce.get("bounceType") == "Permanent"
        when = _iso(bounce.get("timestamp"))
        for recipient in bounce.get("bouncedRecipients") or []:
            reason = str(recipient.get("diagnosticCode") or bounce.get("bounceSubType") or "")
            status = str(recipient.get("status") or "") or enhanced_status(reason)
            feedback.append(EmailFeedback(
                kind="bounce", address=str(recipient.get("emailAddress", "")).lower(),
                # SES says Permanent for "never send here again" (NoEmail, Suppressed, General) — that is hard.
                hard=permanent, message_id=herald_id, provider_id=provider_id, status=status,
                reason=reason or f"{bounce.get('bounceType')} {bounce.get('bounceSubType')}", source="ses",
                occurred_at=when))
    elif kind == "Complaint":
        complaint = notification.get("complaint") or {}
        when = _iso(complaint.get("timestamp"))
        for recipient in complaint.get("complainedRecipients") or []:
            feedback.append(EmailFeedback(
                kind="complaint", address=str(recipient.get("emailAddress", "")).lower(), message_id=herald_id,
                provider_id=provider_id, reason=str(complaint.get("complaintFeedbackType") or "complaint"),
                source="ses", occurred_at=when))
    return [fb for fb in feedback if fb.address]


def _verify_sns(message: dict[str, Any], settings: SnsSettings, fetch: Any, now: datetime) -> None:
    version = str(message.get("SignatureVersion", ""))
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(version)
    if algorithm is None:
        raise WebhookRejected(f"SNS SignatureVersion {version!r} is not 1 or 2", 403)
    text = "".join(f"{key}\n{message[key]}\n" for key in _SNS_KEYS[message["Type"]] if key in message)
    certificate = _sns_certificate(str(message.get("SigningCertURL", "")), settings, fetch)
    valid_from, valid_until = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if not valid_from <= now <= valid_until:
        raise WebhookRejected(f"the SNS signing certificate is not valid now (valid {valid_from:%Y-%m-%d} to "
                              f"{valid_until:%Y-%m-%d})", 403)
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRejected("the SNS signing certificate does not hold an RSA key", 403)
    try:
        key.verify(base64.b64decode(str(message.get("Signature", ""))), text.encode(), padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError, binascii.Error):
        raise WebhookRejected("the SNS signature does not match the message and its signing certificate", 403) \
            from None


def _sns_certificate(url: str, settings: SnsSettings, fetch: Any) -> x509.Certificate:
    if settings.certificate_file:
        key = f"file:{settings.certificate_file}"
    elif _is_sns_url(url) and url.endswith(".pem"):
        key = url
    else:
        raise WebhookRejected("SigningCertURL is not an https://sns.<region>.amazonaws.com/….pem address, so the "
                              "message cannot be trusted", 403)
    with _cert_lock:
        cached = _cert_cache.get(key)
        if cached is not None:
            _cert_cache.move_to_end(key)
            return cached
    try:
        if settings.certificate_file:
            with open(settings.certificate_file, "rb") as handle:
                pem = handle.read()
        else:
            # verify=True: the certificate is only as trustworthy as the TLS connection that brought it.
            # No redirects: a 302 from an allowed host must not lead the fetch to another one.
            answer = fetch(url, timeout=10, verify=True, allow_redirects=False)
            answer.raise_for_status()
            if answer.status_code != 200:
                raise requests.HTTPError(f"HTTP {answer.status_code} instead of the certificate")
            pem = answer.content
        certificate = x509.load_pem_x509_certificate(pem)
    except (OSError, requests.RequestException, ValueError) as exc:
        # 503: SNS retries the delivery later, by which time the certificate may be reachable.
        raise WebhookRejected(f"the SNS signing certificate could not be read ({exc}); set [bounces] "
                              "sns_certificate_file on a server without internet access", 503) from None
    names = _certificate_names(certificate)
    if not any(_SNS_CERTIFICATE_NAME.fullmatch(name) for name in names):
        raise WebhookRejected(f"the SNS signing certificate is issued to {', '.join(names) or 'nobody'}, not to "
                              "sns.amazonaws.com or an sns.<region>.amazonaws.com host", 403)
    with _cert_lock:
        _cert_cache[key] = certificate
        _cert_cache.move_to_end(key)
        while len(_cert_cache) > SNS_CERTIFICATE_CACHE_SIZE:
            _cert_cache.popitem(last=False)
    return certificate


def _certificate_names(certificate: x509.Certificate) -> list[str]:
    """The DNS names a certificate is issued to: its subject alternative names, else its common name."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = extension.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    if not names:
        names = [str(attribute.value) for attribute in
                 certificate.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
    return [name.lower() for name in names]


def _is_sns_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(_SNS_HOST.fullmatch(parts.hostname or "")) and parts.port in (None, 443)


def _header(mail: dict[str, Any], name: str) -> str:
    for header in mail.get("headers") or []:
        if str(header.get("name", "")).lower() == name.lower():
            return str(header.get("value", ""))
    return ""


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _epoch(value: Any) -> datetime | None:
    number = _int(value)
    return datetime.fromtimestamp(number, UTC) if number else None


def _iso(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
