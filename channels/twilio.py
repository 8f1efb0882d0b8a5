"""SMS through Twilio's Messages API, with the official SDK.

URL: `twilio://ACCOUNT_SID:AUTH_TOKEN@default?from=+15551234567` (or `messaging_service_sid=MG…`),
with `timeout=` seconds (default 10), `rate=` (default 10/second), `max_length=` (default 1600, the most
Twilio accepts) and `api_base=` to point the SDK at
any Twilio-compatible API (SignalWire's, or the test fake on loopback) instead of api.twilio.com.

Each message is one `client.messages.create(...)`. Twilio's answer is classified here, next to its
error codes (ERROR_CODES); status callbacks are parsed by `parse_twilio_webhook`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.base import (
    Accepted,
    ChannelConfigError,
    Outgoing,
    Refused,
    ResultListener,
    SendResult,
    SentQuestion,
    Sighting,
    retry_after_seconds,
    send_each,
)
from channels.ratelimit import parse_rate
from channels.unanswered import never_connected
from channels.urls import ChannelUrl, parse_channel_url

SCHEME = "twilio"
DEFAULT_RATE = "10/second"
DEFAULT_TIMEOUT_SECONDS = 10.0
# Messages to one number since the send are few; more than this and the oldest are not looked at
# (the reconciler then finds no match among them and leaves the row unknown, never "not received").
LOOK_UP_LIMIT = 200

log = logging.getLogger("herald.channels")
# The SDK logs every request's method, URL, headers and body at INFO: about a dozen lines per SMS, which cost
# the sender CPU and drown Herald's own log (seen by bench/soak.py). Herald logs each answer itself; the SDK's
# lines stay available by setting this logger to INFO or DEBUG in a logging config.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
OPTIONS = ("from", "messaging_service_sid", "api_base", "timeout", "rate", "max_length")
# https://www.twilio.com/docs/api/errors/21617: a body over 1,600 characters is refused.
DEFAULT_MAX_LENGTH = 1600
TWILIO_API_BASE = "https://api.twilio.com"  # what the SDK's Api domain is built on

PERMANENT, TRANSIENT = True, False
# Twilio's error and warning dictionary, https://www.twilio.com/docs/api/errors/<code>: whether a
# refusal with this code is worth retrying, and the dictionary's title (used as the reason when a
# status callback gives a code without an ErrorMessage). A 4xx code not listed here is permanent;
# HTTP 429 and any 5xx are transient (see classify()).
ERROR_CODES: dict[int, tuple[bool, str]] = {
    # Wrong credentials fail every message the same way. That is the operator's to fix, not the
    # recipient's fault, so the messages wait for a retry instead of failing for good.
    20003: (TRANSIENT, "Authentication Error - invalid username or password"),
    20429: (TRANSIENT, "Too Many Requests"),
    20500: (TRANSIENT, "Internal Server Error"),
    20503: (TRANSIENT, "Service Unavailable"),
    21211: (PERMANENT, "Invalid 'To' Phone Number"),
    21214: (PERMANENT, "'To' phone number cannot be reached"),
    21408: (PERMANENT, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    21610: (PERMANENT, "Attempt to send to unsubscribed recipient"),  # the recipient texted STOP
    21612: (PERMANENT, "The 'To' phone number is not currently reachable using the 'From' phone number via SMS"),
    21614: (PERMANENT, "'To' number is not a valid mobile number"),
    21617: (PERMANENT, "The concatenated message body exceeds the 1600 character limit"),
    # 30xxx come in status callbacks (the carrier's verdict), rarely at send time. A callback's verdict
    # is final for that message either way; the flag matters if Twilio ever answers a send with one.
    30001: (TRANSIENT, "Queue overflow"),
    # Twilio's page for 30003 says the handset may be off or out of coverage — temporary — so it fails
    # this message but, unlike 30006, says nothing lasting about the number (not in CONSENT_EFFECTS).
    30003: (PERMANENT, "Unreachable destination handset"),
    30004: (PERMANENT, "Message blocked"),
    30005: (PERMANENT, "Unknown destination handset"),
    30006: (PERMANENT, "Landline or unreachable carrier"),
    30007: (PERMANENT, "Message filtered"),
    30008: (TRANSIENT, "Unknown error"),
}

# Codes that say something lasting about the recipient, recorded as their SMS consent (campaigns skips
# them from then on): 21610 means they texted STOP to our sender (Twilio refuses every message until
# they text START); 21211 / 21614 / 30006 mean the number is invalid, not a mobile, or a landline,
# so every retry and every later campaign would fail the same way ("bounced", as a dead mail address).
CONSENT_EFFECTS: dict[str, str] = {
    "21610": "unsubscribed",
    "21211": "bounced",
    "21614": "bounced",
    "30006": "bounced",
}

def classify(code: int | None, http_status: int) -> bool:
    """True when a refusal is permanent: the table first, then 429 and 5xx transient, other 4xx permanent."""
    if code is not None and code in ERROR_CODES:
        return ERROR_CODES[code][0]
    return not (http_status == 429 or http_status >= 500)


def from_url(url: str, *, from_address: str = "") -> TwilioChannel:
    """Open a Twilio channel (no request is made yet). Raises ChannelConfigError naming the fix."""
    parsed = _parse(url)
    sender = parsed.query.get("from") or from_address
    service = parsed.query.get("messaging_service_sid", "")
    if not sender and not service:
        raise ChannelConfigError(
            f'channel URL "{parsed.describe()}" says neither who sends nor through what; add from=+15551234567 '
            "(a Twilio number) or messaging_service_sid=MG… to the URL"
        )
    api_base = parsed.query.get("api_base", "").rstrip("/")
    if api_base and urlsplit(api_base).scheme not in ("http", "https"):
        raise ChannelConfigError(f'channel URL "{parsed.describe()}": api_base must be an http(s):// URL, '
                                 "e.g. api_base=https://example.signalwire.com/api/laml")
    if parsed.host != "default" and not api_base:
        raise ChannelConfigError(
            f'channel URL "{parsed.describe()}" has host "{parsed.host}"; write twilio://SID:TOKEN@default for '
            f"Twilio itself, or add api_base=https://{parsed.host} to use another Twilio-compatible API"
        )
    rate = parsed.query.get("rate", DEFAULT_RATE)
    parse_rate(rate, where=f'channel URL "{parsed.describe()}": rate')
    return TwilioChannel(
        account_sid=parsed.username,
        auth_token=parsed.password,
        from_number=sender,
        messaging_service_sid=service,
        api_base=api_base,
        timeout=parsed.number("timeout", DEFAULT_TIMEOUT_SECONDS),
        rate=rate,
        description=parsed.describe(),
        max_length=parsed.length_limit(DEFAULT_MAX_LENGTH),
    )


def twilio_auth_token(url: str) -> str:
    """The AUTH_TOKEN of a twilio:// URL, which signs status callbacks. Raises ChannelConfigError."""
    return _parse(url).password


def _parse(url: str) -> ChannelUrl:
    parsed = parse_channel_url(url, scheme=SCHEME, options=OPTIONS)
    if not parsed.username or not parsed.password:
        raise ChannelConfigError(
            f'channel URL "{parsed.describe()}" lacks the account SID or auth token; '
            "write twilio://ACCOUNT_SID:AUTH_TOKEN@default?from=+15551234567"
        )
    return parsed


class _HeraldHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client with two additions, through its documented custom-client hook.

    It sends to `api_base` instead of https://api.twilio.com (the SDK builds every Messages URL on
    that base), it keeps the last response, because TwilioRestException does not carry the
    Retry-After header of a 429, and it sends `idempotency_key` as an Idempotency-Key header
    (IETF draft-ietf-httpapi-idempotency-key-header) on a POST, so an API that honours it returns
    the first message instead of sending a resend again.
    """

    def __init__(self, *, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.api_base = api_base
        self.last_response: Response | None = None
        self.idempotency_key = ""  # set by the channel for the one message it is sending

    def request(self, method: str, url: str, *args, **kwargs) -> Response:  # type: ignore[override]
        if self.api_base and url.startswith(TWILIO_API_BASE + "/"):
            url = self.api_base + url[len(TWILIO_API_BASE):]
        if self.idempotency_key and method.upper() == "POST":
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Idempotency-Key": self.idempotency_key}
        self.last_response = None
        self.last_response = super().request(method, url, *args, **kwargs)
        return self.last_response


class TwilioChannel:
    name = "twilio"
    dry_run = False
    reports_each_result = True  # one API call per message: each answer is known as it comes (channels/base.py)
    look_up_how = "Twilio's message list, by To and DateSent, matched on the text"

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str = "", messaging_service_sid: str = "",
                 api_base: str = "", timeout: float = DEFAULT_TIMEOUT_SECONDS, rate: str = DEFAULT_RATE,
                 description: str = "", max_length: int | None = DEFAULT_MAX_LENGTH) -> None:
        self.account_sid = account_sid
        self.max_length = max_length
        self._auth_token = auth_token
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.api_base = api_base
        self.timeout = timeout
        self.rate = rate
        self._description = description or f"twilio://{account_sid}:****@default"
        self._http: _HeraldHttpClient | None = None
        self._client: Client | None = None
        self._lock = threading.Lock()  # one worker per instance; the lock makes accidental sharing safe

    @property
    def endpoint(self) -> str:
        return self.api_base or TWILIO_API_BASE

    def describe(self) -> str:
        return self._description

    def send(self, batch: Sequence[Outgoing], on_result: ResultListener | None = None) -> list[SendResult]:
        """One API call per message; one result per message, in batch order; never raises for Twilio or the network.

        A timeout, a connection failure, a 429 or rejected credentials stop the batch: the remaining
        messages get the same transient refusal without being tried, since trying them now would
        only meet the same answer. `on_result` hears each result as soon as Twilio answered.
        """
        with self._lock:
            return send_each(batch, self._send_one, on_result)

    def look_up(self, questions: Sequence[SentQuestion]) -> dict[int, list[Sighting]]:
        """Ask Twilio what it took for each question's recipient since `since` (channels.base.can_look_up).

        One list request per question: GET …/Messages.json?To=…&DateSent>=… (the SDK's
        messages.list(to=, date_sent_after=)). A question Twilio could not answer (network, 5xx, 429)
        is left out, so its row stays unknown until the next try; never raises for Twilio's sake.
        """
        found: dict[int, list[Sighting]] = {}
        with self._lock:
            client, http = self._api()
            http.idempotency_key = ""
            for question in questions:
                try:
                    listed = client.messages.list(to=question.to, date_sent_after=question.since,
                                                  limit=LOOK_UP_LIMIT + 1)
                except (TwilioException, requests.RequestException) as exc:
                    log.warning("event=look_up_failed channel=twilio message_id=%d endpoint=%s error=%r",
                                question.message_id, self.endpoint, str(exc))
                    continue
                if len(listed) > LOOK_UP_LIMIT:  # too many to be sure nothing is missing: no answer
                    continue
                found[question.message_id] = [
                    Sighting(m.sid, m.body or "", segments=int_or_none(m.num_segments), cost=price_or_none(m.price),
                             currency=m.price_unit if m.price else None)
                    for m in listed if m.direction != "inbound"]
        return found

    def close(self) -> None:
        """Release the HTTP session; safe to call any number of times."""
        http, self._http, self._client = self._http, None, None
        if http is not None and http.session is not None:
            http.session.close()

    # ------------------------------------------------------------------ internals
    def _api(self) -> tuple[Client, _HeraldHttpClient]:
        if self._client is None or self._http is None:
            self._http = _HeraldHttpClient(api_base=self.api_base, timeout=self.timeout)
            # environment={}: the SDK would otherwise read TWILIO_* variables (edge, region) from
            # os.environ; Herald's settings come from its config only.
            self._client = Client(self.account_sid, self._auth_token, http_client=self._http, environment={})
        return self._client, self._http

    def _send_one(self, message: Outgoing) -> tuple[SendResult, bool]:
        client, http = self._api()
        params: dict[str, str] = {"to": message.to, "body": message.body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        if self.from_number:
            params["from_"] = self.from_number
        if message.status_callback_url:
            params["status_callback"] = message.status_callback_url
        mid = message.message_id
        http.idempotency_key = message.idempotency_key
        try:
            created = client.messages.create(**params)
        except TwilioRestException as exc:
            return self._refusal(mid, exc.code, exc.status, str(exc.msg), http)
        except TwilioServiceException as exc:  # RFC 9457 problem details, newer Twilio APIs
            return self._refusal(mid, exc.code, exc.status, str(exc.detail or exc.title), http)
        except requests.Timeout as exc:
            if isinstance(exc, requests.ConnectTimeout):
                reason = f"could not connect to {self.endpoint} within {self.timeout:g}s; not sent"
                return Refused(mid, False, "timeout", reason), True
            reason = (f"{self.endpoint} did not answer within {self.timeout:g}s; "
                      "Twilio may or may not have accepted the message")
            return Refused(mid, False, "timeout", reason, outcome_unknown=True), True
        except requests.RequestException as exc:
            reason = f"{self.endpoint}: {type(exc).__name__}: {exc}"
            if never_connected(exc):
                return Refused(mid, False, "connection-error", reason + "; not sent"), True
            # The request went out and the connection died before the answer: Twilio may have it.
            return Refused(mid, False, "connection-error", reason, outcome_unknown=True), True
        except TwilioException as exc:  # the SDK could not read the answer
            return Refused(mid, False, "twilio-error", f"{self.endpoint}: {exc}"), True
        return Accepted(mid, provider_id=created.sid, segments=int_or_none(created.num_segments),
                        cost=price_or_none(created.price),
                        currency=created.price_unit if created.price else None), False

    def _refusal(self, mid: int, code: int | None, status: int, reason: str,
                 http: _HeraldHttpClient) -> tuple[Refused, bool]:
        throttled = status == 429 or code == 20429
        retry_after = None
        if throttled and http.last_response is not None:
            retry_after = retry_after_seconds(http.last_response.headers.get("Retry-After"))
        refused = Refused(mid, permanent=classify(code, status), code=str(code or status), reason=reason,
                          retry_after=retry_after, consent=CONSENT_EFFECTS.get(str(code)), throttled=throttled)
        return refused, throttled or code == 20003 or status == 401


def int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def price_or_none(value: object) -> Decimal | None:
    # Twilio reports what it charged as a negative amount ("-0.00750"); Herald stores the cost.
    if value in (None, ""):
        return None
    try:
        return abs(Decimal(str(value)))
    except InvalidOperation:
        return None

