"""Email over an HTTP API: `https-email://API_KEY@api.sendgrid.com?from=news@example.com` (SendGrid v3 mail/send).

Options: `from=` (else [channels.email] from_address), `timeout=10`, `rate=N/second`, `api_base=` (another
base URL for a SendGrid-compatible API or a test server; the path /v3/mail/send is added).

One POST per message. The request carries Herald's message id as the custom arg `herald_message_id`,
which SendGrid echoes in every Event Webhook event (channels/email_webhooks.py), and our
List-Unsubscribe headers. SendGrid answers 202 with the X-Message-Id header: that is the provider id.
A message whose answer was lost is looked up in SendGrid's Email Activity API (`look_up`, used by the
reconciler): GET /v3/messages?query=to_email="…" AND unique_args['herald_message_id']="…" — the custom arg
is what SendGrid keeps the message under. The API needs the Email Activity add-on and an API key with
"Email Activity" access; without them it answers 401/403 and the rows stay `unknown`.
Classification: 202 accepted; 429 and 5xx transient (Retry-After, or X-RateLimit-Reset, honoured);
401/403 mean Herald's key or sender is not allowed — the operator's to fix, so the batch waits for a
retry instead of every recipient failing for good; any other 4xx is this message's problem, permanent,
with SendGrid's own error text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

import requests

from channels.base import (
    Accepted,
    ChannelConfigError,
    Outgoing,
    Refused,
    ResultListener,
    SendResult,
    SentQuestion,
    Sighting,
    send_each,
)
from channels.ratelimit import parse_rate
from channels.unanswered import never_connected
from channels.urls import parse_channel_url

SCHEME = "https-email"
DEFAULT_RATE = "50/second"
DEFAULT_TIMEOUT_SECONDS = 10.0
OPTIONS = ("from", "timeout", "rate", "api_base")
SEND_PATH = "/v3/mail/send"
ACTIVITY_PATH = "/v3/messages"  # the Email Activity API's "filter all messages"
# One message, asked by its own id: more than a handful of hits means the query is not what it seems.
LOOK_UP_LIMIT = 10
log = logging.getLogger("herald.channels")
HERALD_ID_ARG = "herald_message_id"
# Headers SendGrid sets itself and refuses in `headers`; the rest of ours (List-Unsubscribe…) pass through.
_RESERVED = frozenset({"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
                       "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc", "message-id",
                       "mime-version", "date"})


def from_url(url: str, *, from_address: str = "") -> HttpsEmailChannel:
    """Open the channel (nothing is sent yet). Raises ChannelConfigError naming the URL and the fix."""
    parsed = parse_channel_url(url, scheme=SCHEME, options=OPTIONS, secret_username=True)
    where = f'channel URL "{parsed.describe()}"'
    api_key = parsed.username or parsed.password
    if not api_key:
        raise ChannelConfigError(f"{where} has no API key; write https-email://API_KEY@api.sendgrid.com?from=…")
    if not parsed.host:
        raise ChannelConfigError(f"{where} has no host; write https-email://API_KEY@api.sendgrid.com")
    sender = parsed.query.get("from") or from_address
    name, address = parseaddr(sender)
    if not address or "@" not in address:
        raise ChannelConfigError(f"{where} has no sender address; add from=news@example.com to the URL or set "
                                 "[channels.email] from_address")
    rate = parsed.query.get("rate", DEFAULT_RATE)
    parse_rate(rate, where=f"{where}: rate")
    base = parsed.query.get("api_base") or f"https://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
    if not base.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ChannelConfigError(f"{where}: api_base={base!r} must be an https:// URL (the API key travels in it)")
    return HttpsEmailChannel(endpoint=base.rstrip("/") + SEND_PATH, api_key=api_key, from_name=name,
                             from_email=address, timeout=parsed.number("timeout", DEFAULT_TIMEOUT_SECONDS), rate=rate,
                             description=parsed.describe())


class HttpsEmailChannel:
    name = "https-email"
    dry_run = False
    reports_each_result = True  # one request per message: each answer is known as it comes (channels/base.py)
    look_up_how = "SendGrid's Email Activity API, by to_email and the custom arg herald_message_id"
    max_length: int | None = None  # email has no length limit a provider enforces per message

    def __init__(self, *, endpoint: str, api_key: str, from_name: str, from_email: str, timeout: float, rate: str,
                 description: str) -> None:
        self.endpoint = endpoint
        self._api_key = api_key
        self.from_name, self.from_email = from_name, from_email
        self.timeout, self.rate = timeout, rate
        self._description = description
        self._session: requests.Session | None = None

    def describe(self) -> str:
        return self._description

    def send(self, batch: Sequence[Outgoing], on_result: ResultListener | None = None) -> list[SendResult]:
        """One request per message, in batch order; `on_result` hears each result as soon as it is known."""
        return send_each(batch, self._send_one, on_result)

    def look_up(self, questions: Sequence[SentQuestion]) -> dict[int, list[Sighting]]:
        """Ask the Email Activity API for each question's message by its custom arg (see the module doc):
        {message id: the messages SendGrid keeps under it, [] for none}, leaving out what it did not answer.
        A 401/403 (no Email Activity access) stops the round: every other question would get the same.
        Never raises for SendGrid's sake."""
        found: dict[int, list[Sighting]] = {}
        url = self.endpoint[:-len(SEND_PATH)] + ACTIVITY_PATH
        for question in questions:
            query = f'to_email="{question.to}" AND unique_args[\'{HERALD_ID_ARG}\']="{question.message_id}"'
            try:
                response = self._http().get(url, params={"query": query, "limit": LOOK_UP_LIMIT},
                                            timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as exc:
                log.warning("event=look_up_failed channel=https-email message_id=%d endpoint=%s error=%r",
                            question.message_id, url, str(exc))
                continue
            if response.status_code in (401, 403):
                log.warning("event=look_up_refused channel=https-email endpoint=%s http_status=%d reason=%r hint=%r",
                            url, response.status_code, _errors(response), "the API key needs Email Activity access "
                            "(SendGrid's Email Activity add-on); until then unknown emails stay unknown")
                break
            try:
                listed = response.json().get("messages") if response.status_code == 200 else None
            except (ValueError, AttributeError):
                listed = None
            if not isinstance(listed, list) or len(listed) >= LOOK_UP_LIMIT:
                log.warning("event=look_up_failed channel=https-email message_id=%d endpoint=%s http_status=%d",
                            question.message_id, url, response.status_code)
                continue
            # The activity's msg_id is the X-Message-Id mail/send answered, then ".filter…" (SendGrid's own
            # per-recipient suffix): the row keeps the X-Message-Id, as when the answer arrives.
            found[question.message_id] = [Sighting(str(m["msg_id"]).split(".filter")[0], body="", by_reference=True)
                                          for m in listed if isinstance(m, dict) and m.get("msg_id")]
        return found

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # ------------------------------------------------------------------ internals
    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()  # keep-alive across the batch and the next
            self._session.headers["Authorization"] = f"Bearer {self._api_key}"
        return self._session

    def payload(self, message: Outgoing) -> dict[str, Any]:
        """The mail/send request body for one message."""
        sender: dict[str, str] = {"email": self.from_email}
        if self.from_name:
            sender["name"] = self.from_name
        content = [{"type": "text/plain", "value": message.body}] if message.body else []
        if message.html:
            content.append({"type": "text/html", "value": message.html})
        body: dict[str, Any] = {
            "personalizations": [{"to": [{"email": message.to}],
                                  "custom_args": {HERALD_ID_ARG: str(message.message_id)}}],
            "from": sender,
            "subject": message.subject,
            "content": content,
        }
        headers = {k: v for k, v in message.headers.items() if k.lower() not in _RESERVED}
        if headers:
            body["headers"] = headers
        return body

    def _send_one(self, message: Outgoing) -> tuple[SendResult, bool]:
        mid = message.message_id
        where = self.endpoint
        if not message.body and not message.html:
            return Refused(mid, True, "empty", "the message has neither text nor HTML"), False
        if any(c in message.subject for c in "\r\n"):
            return Refused(mid, True, "invalid-message", f"the subject contains a line break: {message.subject!r}"), \
                False
        try:
            response = self._http().post(self.endpoint, json=self.payload(message), timeout=self.timeout,
                                          allow_redirects=False)
        except requests.Timeout as exc:
            if never_connected(exc):
                return Refused(mid, False, "timeout", f"could not connect to {where} within {self.timeout:g}s"), True
            return Refused(mid, False, "timeout", f"{where} did not answer within {self.timeout:g}s; it may or may "
                                                  "not have accepted the message", outcome_unknown=True), True
        except requests.RequestException as exc:
            if never_connected(exc):
                return Refused(mid, False, "connection-error", f"{where}: cannot connect ({type(exc).__name__})"), True
            return Refused(mid, False, "connection-error", f"{where}: {type(exc).__name__}: {exc}",
                           outcome_unknown=True), True
        status = response.status_code
        if status in (200, 202):
            provider_id = response.headers.get("X-Message-Id", "")
            if not provider_id:
                return Refused(mid, False, str(status), "accepted without an X-Message-Id header; is api_base a "
                                                        "SendGrid-compatible API?"), True
            return Accepted(mid, provider_id=provider_id), False
        reason = _errors(response)
        if status == 429 or status >= 500:
            return Refused(mid, False, str(status), reason, retry_after=_retry_after(response),
                           throttled=status == 429), status == 429
        if status in (401, 403):
            return Refused(mid, False, str(status), f"{reason} — check the API key (it needs Mail Send access) and "
                                                    "that the from address is a verified sender"), True
        return Refused(mid, True, str(status), reason), False


def _errors(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        parts = []
        for error in data["errors"]:
            if isinstance(error, dict):
                field = f" ({error['field']})" if error.get("field") else ""
                parts.append(f"{error.get('message', '')}{field}")
        if parts:
            return "; ".join(parts)
    return f"HTTP {response.status_code}: {response.text[:200]}"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value and value.strip().isdigit():
        return float(value)
    reset = response.headers.get("X-RateLimit-Reset")  # SendGrid: the epoch second the limit resets
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - time.time())
    return None
