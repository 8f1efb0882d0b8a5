"""What a receiving system tells us back about an email: a bounce, a delay or a complaint.

Every source — a bounce message (RFC 3464 DSN) from the bounce mailbox or posted to Herald, SendGrid's
event webhook, Amazon SES through SNS — is turned into EmailFeedback here in channels; campaigns
(campaigns/responses/bounces.py) decides what it means for the message and the contact.

Hard or soft: an address that does not exist or no longer takes mail (RFC 3463 status 5.1.x, 5.2.1)
is hard — the contact's email consent becomes "bounced" and nothing more is sent there. Everything
else (mailbox full 4.2.2/5.2.2, a server down, a policy or spam block) is soft: the message is
recorded as bounced, the contact stays reachable.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import parseaddr

FEEDBACK_KINDS = ("bounce", "delay", "complaint", "unsubscribe")
_HERALD_MESSAGE_ID = re.compile(r"<herald\.(\d+)@[^>]+>")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_USER_UNKNOWN = re.compile(r"user unknown|no such user|unknown user|does not exist|mailbox unavailable|"
                           r"recipient address rejected|invalid recipient|address rejected", re.IGNORECASE)


@dataclass(frozen=True)
class EmailFeedback:
    kind: str  # bounce | delay | complaint | unsubscribe
    address: str  # the recipient it is about, lower-cased
    hard: bool = False  # a bounce that means the address cannot receive mail
    message_id: int | None = None  # Herald's message id, when the source carried it
    provider_id: str | None = None  # the provider's id for the message, or our Message-ID header
    status: str = ""  # RFC 3463 enhanced status, e.g. "5.1.1"
    reason: str = ""  # the receiving server's or provider's own words
    source: str = ""  # dsn | sendgrid | ses
    occurred_at: datetime | None = None


def herald_message_id(header: str | None) -> int | None:
    """Herald's message id from a Message-ID we wrote (`<herald.42@host>`), else None."""
    match = _HERALD_MESSAGE_ID.search(header or "")
    return int(match.group(1)) if match else None


def is_hard_bounce(status: str, reason: str = "") -> bool:
    """RFC 3463: 5.1.x (bad mailbox, bad domain, bad syntax, moved) and 5.2.1 (mailbox disabled) mean the
    address will not take mail. A bare 550 that says "user unknown" means the same."""
    if status.startswith("5.1.") or status == "5.2.1":
        return True
    return not status and reason.lstrip().startswith(("550", "551", "553")) and bool(_USER_UNKNOWN.search(reason))


def enhanced_status(text: str) -> str:
    """The first RFC 3463 status code in a server's reply, e.g. "5.1.1" from "550 5.1.1 No such user"."""
    match = _STATUS.search(text or "")
    return ".".join(match.groups()) if match else ""


class NotADsn(ValueError):
    """The message is not a delivery status notification (RFC 3464); says what it is instead."""


def parse_dsn(raw: bytes) -> list[EmailFeedback]:
    """The bounces and delays one RFC 3464 report describes, one per failed or delayed recipient.

    Recipients reported delivered, relayed or expanded are skipped. The original message's
    Message-ID (from the returned message/rfc822 or text/rfc822-headers part) ties each to Herald's
    message. Raises NotADsn for anything that is not a multipart/report; report-type=delivery-status.
    """
    message = email.message_from_bytes(raw, policy=email.policy.default)
    report = _find_report(message)
    if report is None:
        subject = str(message.get("Subject", ""))[:80]
        raise NotADsn(f'not a delivery status notification (RFC 3464): the message "{subject}" has no '
                      "multipart/report part with report-type=delivery-status")
    status_part = next((p for p in report.iter_parts() if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        raise NotADsn("the multipart/report has no message/delivery-status part")
    original_id = _original_message_id(report)
    occurred_at = _date(message)
    blocks = status_part.get_payload()
    recipients = blocks[1:] if isinstance(blocks, list) else []
    feedback = []
    for block in recipients:
        action = str(block.get("Action", "")).strip().lower()
        if action not in ("failed", "delayed"):
            continue
        address = _address(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        if not address:
            continue
        diagnostic = _diagnostic(block.get("Diagnostic-Code"))
        status = str(block.get("Status", "")).strip() or enhanced_status(diagnostic)
        kind = "bounce" if action == "failed" else "delay"
        feedback.append(EmailFeedback(
            kind=kind, address=address, hard=kind == "bounce" and is_hard_bounce(status, diagnostic),
            message_id=herald_message_id(original_id), provider_id=original_id or None, status=status,
            reason=diagnostic or f"{action} with status {status}", source="dsn", occurred_at=occurred_at,
        ))
    return feedback


def parse_complaint_report(raw: bytes) -> list[EmailFeedback]:
    """A mailbox provider's spam complaint in the Abuse Reporting Format (RFC 5965, "feedback loop").

    The complaining recipient is Original-Rcpt-To, or else the returned message's To; a report whose
    recipient was redacted names nobody and gives nothing. Raises NotADsn for anything but a
    multipart/report; report-type=feedback-report of Feedback-Type abuse.
    """
    message = email.message_from_bytes(raw, policy=email.policy.default)
    report = _find_report(message, "feedback-report")
    fields_part = next((p for p in report.iter_parts() if p.get_content_type() == "message/feedback-report"),
                       None) if report is not None else None
    if fields_part is None:
        raise NotADsn("not a complaint report (RFC 5965): no multipart/report with report-type=feedback-report")
    payload = fields_part.get_payload()
    fields = payload[0] if isinstance(payload, list) and payload else fields_part
    if str(fields.get("Feedback-Type", "")).strip().lower() != "abuse":
        return []
    original_id, original_to = _original_headers(report)
    address = _address(str(fields.get("Original-Rcpt-To") or "")) or parseaddr(original_to)[1].lower()
    if "@" not in address:
        return []
    return [EmailFeedback(kind="complaint", address=address, message_id=herald_message_id(original_id),
                          provider_id=original_id or None, reason=str(fields.get("User-Agent") or "abuse report"),
                          source="arf", occurred_at=_date(message))]


def _find_report(message: EmailMessage, report_type: str = "delivery-status") -> Message | None:
    for part in message.walk():
        if (part.get_content_type() == "multipart/report"
                and str(part.get_param("report-type", "")).lower() == report_type):
            return part
    return None


def _original_message_id(report: Message) -> str:
    return _original_headers(report)[0]


def _original_headers(report: Message) -> tuple[str, str]:
    """The returned message's Message-ID and To, from its message/rfc822 or text/rfc822-headers part."""
    for part in report.iter_parts() if isinstance(report, EmailMessage) else report.get_payload():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) else inner
        elif kind == "text/rfc822-headers":
            original = BytesHeaderParser(policy=email.policy.default).parsebytes(part.get_payload(decode=True) or b"")
        else:
            continue
        return str(original.get("Message-ID", "")).strip(), str(original.get("To", "")).strip()
    return "", ""


def _address(field: str) -> str:
    # "rfc822; ann@example.com" (RFC 3464 §2.3.2: address-type ";" generic-address)
    kind, sep, address = str(field).partition(";")
    return (address if sep else kind).strip().strip("<>").lower()


def _diagnostic(field: object) -> str:
    # "smtp; 550 5.1.1 <ann@example.com>: Recipient address rejected" — the type prefix is noise here.
    text = " ".join(str(field or "").split())
    kind, sep, rest = text.partition(";")
    return rest.strip() if sep and kind.strip().lower() in ("smtp", "x-postfix", "x-unix") else text


def _date(message: EmailMessage) -> datetime | None:
    try:
        value = message["Date"]
        return value.datetime if value is not None and value.datetime.tzinfo else None
    except (TypeError, ValueError, AttributeError):
        return None
