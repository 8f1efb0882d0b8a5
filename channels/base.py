"""The one small interface every provider adapter implements, and the values that cross it.

The send contract: `send(batch)` returns exactly one result per message, keyed by message_id, and
never raises because of something the provider or the network did — a timeout or a refused
connection becomes a transient Refused for every message it affected. Exceptions are for bugs.
`close()` is idempotent.

A transient Refused says one of two things, and the difference decides whether a resend can make a
duplicate: the provider never got the message (connection refused, connect timeout, a 4xx/5xx
answer), or it got the whole request and its answer was lost (a read timeout after the request was
sent, a connection dropped after the full SMTP DATA) — `outcome_unknown=True`. campaigns resends the
first kind; the second only for at-least-once campaigns, with the same Message-ID / idempotency key.

Answers as they come: a channel that talks to its provider one message at a time declares
`reports_each_result = True` and takes `send(batch, on_result=callback)`, calling the callback with each
result the moment it is known (still in batch order, still one per message, and still returning the
whole list). The dispatcher records them in small groups while the rest of the batch is being sent, so
a sender killed mid-batch leaves only the messages truly in flight without a record. A channel without
the flag (one request for the whole batch, or one written before this) is recorded when send() returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Protocol, runtime_checkable


class ChannelConfigError(ValueError):
    """A channel URL cannot be used; the message names the URL (secrets masked) and the fix."""


class WebhookRejected(ValueError):
    """A provider webhook could not be accepted (bad signature, unknown status); says which and why."""

    def __init__(self, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.http_status = http_status


@dataclass(frozen=True)
class Outgoing:
    """One rendered message, ready for a provider."""

    message_id: int
    channel: str  # "email" or "sms"
    to: str  # email address or E.164 phone number
    body: str = ""  # SMS text, or the plain-text part of an email
    subject: str = ""
    html: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # email only: List-Unsubscribe, Message-ID…
    status_callback_url: str = ""  # where the provider should report delivery for this message
    sender: str = ""  # email: the named sender account ([channels.email.senders.NAME]); "" = the default
    # The same for every try of one message, so a provider (or recipient) that honours it can drop a
    # resend of a message whose first answer was lost; for email the Message-ID plays this part.
    idempotency_key: str = ""
    # SMS through a provider that sends only registered templates (Alibaba Cloud, Tencent Cloud; channels/china/):
    # the provider's template code and its parameters, rendered, in the template's order. `body` is then the
    # registered text with the parameters filled in — what the recipient reads and segments are counted on.
    template_code: str = ""
    template_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    message_id: int
    provider_id: str
    segments: int | None = None
    cost: Decimal | None = None  # known only if the provider said so at send time
    currency: str | None = None


@dataclass(frozen=True)
class Refused:
    message_id: int
    permanent: bool  # False means "try again later"
    code: str  # the provider's own code, e.g. "21211", "550", "timeout"
    reason: str  # the provider's own words, unedited
    retry_after: float | None = None  # seconds, when the provider said how long to wait
    # What the refusal says about the recipient, when it says something lasting: "unsubscribed" (they
    # opted out at the provider, Twilio 21610) or "bounced" (the address or number cannot receive).
    # campaigns records it as the contact's consent on the channel, so the next campaign skips them.
    consent: str | None = None
    # The provider asked Herald to slow down (HTTP 429, Twilio 20429, an SMTP 421/451 "too many …"):
    # nothing is wrong with the message or the provider, so campaigns retries it later without counting
    # an attempt, and holds the whole channel back for a while (campaigns/delivery/throttle.py).
    throttled: bool = False
    # The provider got the whole message and its answer never came: it may have taken it. Set only
    # where the request was complete (a read timeout, a connection lost after DATA), never for a
    # connection that could not be made — that message was certainly not sent.
    outcome_unknown: bool = False


SendResult = Accepted | Refused
# Called with each result as soon as the provider answered (see the module doc).
ResultListener = Callable[[SendResult], None]

@dataclass(frozen=True)
class SentQuestion:
    """"Did you get this message?", asked of a provider about a message whose answer was lost (`unknown`)."""

    message_id: int
    to: str
    body: str  # the text as it was sent (text_as_sent), to tell it from other messages to the same number
    since: datetime  # the provider cannot have taken it before this (aware UTC, with room for clock skew)


@dataclass(frozen=True)
class Sighting:
    """One message the provider says it took for a SentQuestion's recipient since then (any text).

    `by_reference`: the provider found it by Herald's own reference for the message (SendGrid's custom arg
    herald_message_id, a gateway's copy of ref_field), so it is this message whatever its text says.
    """

    provider_id: str
    body: str
    segments: int | None = None
    cost: Decimal | None = None
    currency: str | None = None
    by_reference: bool = False


# The start of the reason given to messages a batch did not try because an earlier one met a timeout,
# a 429 or a dead connection (send_each, and smtp's batch): the circuit breaker counts only tries.
NOT_TRIED = "not sent, an earlier message in the batch got: "


def was_not_tried(result: SendResult) -> bool:
    """Whether this refusal is for a message the batch never handed to the provider (see NOT_TRIED): it says
    nothing about the message, so neither the circuit breaker nor the message's attempts count it."""
    return isinstance(result, Refused) and result.reason.startswith(NOT_TRIED)


@dataclass(frozen=True)
class ChannelEvent:
    """What a provider webhook said about one message, in Herald's terms.

    status is one of: queued, sent, delivered, failed, read. `message_id` is Herald's id when the
    callback URL carried it; `provider_id` is always set when the provider sent one.
    """

    status: str
    provider_id: str | None = None
    message_id: int | None = None
    error_code: str | None = None
    error_reason: str | None = None
    provider_status: str = ""  # the provider's own word, e.g. "undelivered"
    price: Decimal | None = None
    currency: str | None = None
    segments: int | None = None
    occurred_at: datetime | None = None
    consent: str | None = None  # as Refused.consent: what a failure means for the recipient's consent


@runtime_checkable
class Channel(Protocol):
    name: str  # provider name: "twilio", "smtp", "log", "http-sms"
    dry_run: bool  # True when nothing really leaves the machine (log://)
    rate: str  # the provider's send rate, e.g. "10/second"; the URL's rate= overrides the adapter default
    # The most characters one message may have (Twilio refuses over 1,600, error 21617); None for no
    # limit. The URL's max_length= overrides the adapter default. Templates longer cannot be saved, and
    # a message that renders longer fails without being sent.
    max_length: int | None

    def send(self, batch: Sequence[Outgoing]) -> list[SendResult]: ...
    # A channel with `reports_each_result = True` also takes send(batch, on_result=listener): see the module doc.

    def close(self) -> None: ...

    def describe(self) -> str:
        """The channel URL with secrets masked, safe to log and show."""
        ...


# The sender-signature placeholder of the template gallery (campaigns/content/gallery): a channel that signs
# its texts (http-sms `signature=`) writes its signature in its place instead of in front.
SIGNATURE_PLACEHOLDER = "【签名】"


def text_as_sent(channel: object, text: str) -> str:
    """The message text as `channel` will send it: what segments and cost are counted on.

    A channel that adds to the text (http-sms's signature 【公司名】, an opt-out suffix) says so with an
    `as_sent(text)` method, and its own send uses the same method; the estimate, the template preview
    and the dispatcher's segment count call this, so all of them count the same characters the
    recipient is billed for. A channel without the method sends the text as it is.
    """
    adds = getattr(channel, "as_sent", None)
    return adds(text) if adds is not None else text


def can_look_up(channel: object) -> bool:
    """Whether the channel's provider can be asked what it took: `channel.look_up(questions)` returns
    {message_id: [Sighting, …]} with every message to that recipient since `since` — or, for a provider
    asked by Herald's reference, every message it keeps under that reference (none: an empty list) —
    leaving out the questions it could not ask (provider down, no access). `channel.look_up_how` says in
    a few words how it asks (the reconcile report shows it). A channel whose provider keeps no such list
    (SMTP, a gateway without a query endpoint) declares `look_up = None`."""
    return callable(getattr(channel, "look_up", None))


def reports_each_result(channel: object) -> bool:
    """Whether `channel.send(batch, on_result=…)` reports each result as it comes (see the module doc)."""
    return bool(getattr(channel, "reports_each_result", False))


# Transient codes that say the provider could not be reached or would not talk at all, not that one
# message had a problem: the adapters' own batches stop there (send_each, smtp), and so does the
# dispatcher's paced loop, which hands a channel one message at a time (campaigns/delivery/dispatch.py).
UNREACHABLE_CODES = frozenset({"timeout", "connection-error", "connection-refused", "disconnected", "tls-error",
                               "401", "20003",
                               # Alibaba Cloud and Tencent Cloud refusing Herald's key or signature (channels/china/)
                               "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive",
                               "IncompleteSignature", "AuthFailure.SignatureFailure", "AuthFailure.SecretIdNotFound",
                               "AuthFailure.InvalidSecretId", "AuthFailure.SignatureExpire"})


def stops_the_batch(result: SendResult) -> bool:
    """Does this answer mean the messages after it should not be tried now? A throttle, an answer lost, or
    a provider that cannot be reached or refuses the credentials; never one recipient's own refusal."""
    return isinstance(result, Refused) and not result.permanent and (
        result.throttled or result.outcome_unknown or result.code in UNREACHABLE_CODES)


def send_each(batch: Sequence[Outgoing], send_one: Callable[[Outgoing], tuple[SendResult, bool]],
              on_result: ResultListener | None = None) -> list[SendResult]:
    """Send a batch one message at a time, for providers whose API takes one message per call.

    `send_one` returns the result and whether that answer stops the batch (a timeout, a connection
    failure, a 429, rejected credentials): the remaining messages then get the same transient refusal
    without being tried, since trying them now would only meet the same answer. One result per
    message, in batch order; each is also given to `on_result` as soon as it is known.
    """
    results: list[SendResult] = []
    stop: Refused | None = None
    for message in batch:
        if stop is not None:
            result: SendResult = replace(stop, message_id=message.message_id, reason=NOT_TRIED + stop.reason,
                                         outcome_unknown=False)  # not tried, so certainly not sent
        else:
            result, stop_batch = send_one(message)
            if stop_batch and isinstance(result, Refused):
                stop = result
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header, which is either seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
