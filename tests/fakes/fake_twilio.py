"""A Twilio-compatible Messages API on 127.0.0.1 for tests: the real SDK talks to it over HTTP.

    with FakeTwilio(invalid_numbers={"+15550000000"}) as fake:
        channel = open_channel(fake.channel_url())          # twilio://SID:TOKEN@default?api_base=…&from=…
        channel.send(batch)
        fake.send_status_callbacks("delivered")              # signed like Twilio signs them

It speaks what the SDK sends and expects: form-encoded POST /2010-04-01/Accounts/{Sid}/Messages.json
with HTTP basic auth, 201 with a message resource, errors as {"code", "message", "more_info",
"status"}; GET of the list (To, From, DateSent, DateSent>, DateSent>=, DateSent<, DateSent<=) and of
one message. Scripted faults: `invalid_numbers` (400, 21211), `opted_out_numbers` (400, 21610: the
recipient texted STOP), `landline_numbers` (400, 21614), `fail_next(n, status)` (429 -> 20429,
500 -> 20500, 503 -> 20503), `start_outage(status)` / `end_outage()` (every send fails until ended),
`delay_seconds` (answer late, to trigger client timeouts), `drop_connections(n)` (close the socket
without answering, nothing kept), `hang_first_try(numbers)` (the first send to each number: nothing
kept and no answer for `lose_seconds`, a provider that hangs, so the client times out not knowing) and
`lose_answers(n, how)` (accept and keep the message, then lose the answer: "late" answers only after
`lose_seconds`, past the client's timeout; "drop" closes the socket).
With `honour_idempotency_key=True` a POST whose Idempotency-Key header was seen before returns the
message already created for it instead of sending another (as an API that honours the header would);
every request records its key either way. `enforce_rate(per_second, burst, retry_after)` makes it
a provider that allows so many requests a second (a token bucket of `burst` tokens refilled at that
rate) and answers 429 / 20429 above it, saying how long until the next token in Retry-After.

Twilio's webhooks, signed as Twilio signs them: `send_status_callbacks` (one per message), `send_status_callback`
(one message, any status, in any order, as often as wanted, with ErrorCode, Price and NumSegments) and
`send_inbound` (an incoming SMS to a "A message comes in" URL, answered with TwiML).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.request_validator import RequestValidator

from channels.segments import count_sms
from tests.fakes.serving import ServedOnLoopback, TokenBucket

API_VERSION = "2010-04-01"
FAULTS = {
    429: (20429, "Too Many Requests"),
    500: (20500, "An internal server error has occurred"),
    503: (20503, "Service Unavailable"),
}
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/]+))?\.json$")


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


class FakeTwilio(ServedOnLoopback):
    def __init__(self, account_sid: str = "AC" + "0" * 31 + "1", auth_token: str = "fake-auth-token-0123456789", *,
                 from_number: str = "+15005550006", invalid_numbers: Iterable[str] = (),
                 opted_out_numbers: Iterable[str] = (), landline_numbers: Iterable[str] = (),
                 delay_seconds: float = 0.0, honour_idempotency_key: bool = False, lose_seconds: float = 1.0) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.invalid_numbers = set(invalid_numbers)
        self.opted_out_numbers = set(opted_out_numbers)
        self.landline_numbers = set(landline_numbers)
        self._outage: int | None = None
        self.delay_seconds = delay_seconds
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._messages: dict[str, dict[str, Any]] = {}  # sid -> resource, in creation order
        self._faults: list[tuple[int, float | None]] = []
        self._drops = 0
        self._hangs: set[str] = set()
        self._losses: list[str] = []  # "late" or "drop", one per coming accepted send
        self.lose_seconds = lose_seconds
        self.honour_idempotency_key = honour_idempotency_key
        self._by_idempotency_key: dict[str, str] = {}  # key -> sid
        self._server: ThreadingHTTPServer | None = None
        self._bucket: TokenBucket | None = None
        self._accepted_at: list[float] = []  # time.monotonic() of each accepted send (benchmarks)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeTwilio:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        return self._serve(server)

    # ------------------------------------------------------------------ what tests use
    @property
    def url(self) -> str:
        assert self._server is not None, "FakeTwilio is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def channel_url(self, **options: str) -> str:
        """A twilio:// URL pointing at this fake; options (from=, timeout=, …) override the defaults."""
        query = {"api_base": self.url, "from": self.from_number} | options
        text = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
        return f"twilio://{self.account_sid}:{self.auth_token}@default?{text}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every POST to Messages.json: To, Body, From, MessagingServiceSid, StatusCallback, sid, http_status."""
        with self._lock:
            return [dict(r) for r in self._requests]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The message resources created (accepted sends), oldest first."""
        with self._lock:
            return [dict(m) for m in self._messages.values()]

    @property
    def accepted_at(self) -> list[float]:
        """time.monotonic() of each accepted send, in order: what a benchmark measures a rate on."""
        with self._lock:
            return list(self._accepted_at)

    def fail_next(self, n: int = 1, status: int = 429, *, retry_after: float | None = None) -> None:
        """Answer the next n sends with a Twilio error: 429 (20429), 500 (20500) or 503 (20503)."""
        assert status in FAULTS, f"fail_next supports {sorted(FAULTS)}"
        with self._lock:
            self._faults.extend([(status, retry_after)] * n)

    def enforce_rate(self, per_second: float, *, burst: float | None = None, retry_after: bool = True) -> None:
        """Allow `per_second` sends a second (bursts of up to `burst`, default max(2, per_second / 10)); answer
        429 (20429) above it, with Retry-After = seconds until the next token unless `retry_after` is False."""
        with self._lock:
            self._bucket = TokenBucket(per_second, burst or max(2.0, per_second / 10), retry_after)

    def start_outage(self, status: int = 500) -> None:
        """Answer every send with `status` (500, 503 or 429) until end_outage()."""
        assert status in FAULTS, f"start_outage supports {sorted(FAULTS)}"
        with self._lock:
            self._outage = status

    def end_outage(self) -> None:
        with self._lock:
            self._outage = None

    def send_status_callback(self, sid: str, status: str, *, error_code: int | str | None = None,
                             price: str | None = None, price_unit: str = "USD", num_segments: int | None = None,
                             auth_token: str | None = None) -> int:
        """POST one signed status callback for message `sid` (any status, any order, any number of times).
        Returns the HTTP status the receiver answered."""
        message = next(m for m in self.messages if m["sid"] == sid)
        form = {
            "MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid, "From": message["from"] or "",
            "To": message["to"], "MessageStatus": status, "SmsStatus": status, "ApiVersion": API_VERSION,
        }
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        if price is not None:
            form["Price"], form["PriceUnit"] = price, price_unit
        if num_segments is not None:
            form["NumSegments"] = str(num_segments)
        return self._post_signed(message["_status_callback"], form, auth_token).status_code

    def send_inbound(self, url: str, *, from_number: str, body: str, to: str | None = None, sid: str | None = None,
                     num_segments: int = 1, auth_token: str | None = None, signed: bool = True) -> requests.Response:
        """POST an incoming SMS to `url` as Twilio does (form fields and X-Twilio-Signature). `sid` repeats a
        delivery (Twilio retries a webhook that failed); `signed=False` sends no signature at all."""
        sid = sid or "SM" + uuid.uuid4().hex
        form = {
            "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid,
            "From": from_number, "To": to or self.from_number, "Body": body, "NumMedia": "0",
            "NumSegments": str(num_segments), "SmsStatus": "received", "ApiVersion": API_VERSION,
            "FromCountry": "US", "ToCountry": "US",
        }
        if not signed:
            return requests.post(url, data=form, timeout=10)
        return self._post_signed(url, form, auth_token)

    def _post_signed(self, url: str, form: dict[str, str], auth_token: str | None) -> requests.Response:
        signature = RequestValidator(auth_token or self.auth_token).compute_signature(url, form)
        return requests.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)

    def drop_connections(self, n: int = 1) -> None:
        """Close the socket of the next n sends without answering."""
        with self._lock:
            self._drops += n

    def hang_first_try(self, numbers: Iterable[str]) -> None:
        """The next send to each of `numbers` gets no answer for `lose_seconds` (past the client's timeout),
        then a 503; nothing kept."""
        with self._lock:
            self._hangs |= set(numbers)

    def lose_answers(self, n: int = 1, how: str = "late") -> None:
        """Keep the next n messages, then lose the answer: "late" (answer after `lose_seconds`, when the
        client has given up) or "drop" (close the socket). The client cannot know they were taken."""
        assert how in ("late", "drop"), 'lose_answers(how=) is "late" or "drop"'
        with self._lock:
            self._losses.extend([how] * n)

    def sent_to(self, to: str) -> int:
        """How many messages were created (would reach the handset) for `to`."""
        with self._lock:
            return sum(m["to"] == to for m in self._messages.values())

    def send_status_callbacks(self, status: str = "delivered", *, error_code: int | str | None = None,
                              price: str | None = None, price_unit: str = "USD", with_segments: bool = False,
                              only: Iterable[str] | None = None, auth_token: str | None = None) -> list[int]:
        """POST a signed status callback, as Twilio does, for each message that asked for one.

        `only` limits it to messages whose sid or To is listed; `price` is sent as given (Twilio
        sends it negative, "-0.00750"); `auth_token` signs with another token (to test rejection).
        Returns the HTTP status codes the receiver answered, in order.
        """
        wanted = set(only) if only is not None else None
        validator = RequestValidator(auth_token or self.auth_token)
        codes = []
        for message in self.messages:
            url = message["_status_callback"]
            if not url or (wanted is not None and not wanted & {message["sid"], message["to"]}):
                continue
            form = {
                "MessageSid": message["sid"], "SmsSid": message["sid"], "AccountSid": self.account_sid,
                "From": message["from"] or "", "To": message["to"], "MessageStatus": status, "SmsStatus": status,
                "ApiVersion": API_VERSION,
            }
            if message["messaging_service_sid"]:
                form["MessagingServiceSid"] = message["messaging_service_sid"]
            if error_code is not None or status in ("failed", "undelivered"):
                form["ErrorCode"] = str(error_code if error_code is not None else 30003)
            if price is not None:
                form["Price"], form["PriceUnit"] = price, price_unit
            if with_segments:
                form["NumSegments"] = message["num_segments"]
            signature = validator.compute_signature(url, form)
            response = requests.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)
            codes.append(response.status_code)
        return codes

    # ------------------------------------------------------------------ the API, called by the handler
    def _create(self, account: str, form: dict[str, str],
                idempotency_key: str | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
        record = {"To": form.get("To"), "Body": form.get("Body"), "From": form.get("From"),
                  "MessagingServiceSid": form.get("MessagingServiceSid"),
                  "StatusCallback": form.get("StatusCallback"), "IdempotencyKey": idempotency_key, "sid": None,
                  "http_status": None}
        with self._lock:
            self._requests.append(record)
            earlier = self._by_idempotency_key.get(idempotency_key or "") if self.honour_idempotency_key else None
            if earlier is not None:
                record.update(sid=earlier, http_status=201)
                return 201, {k: v for k, v in self._messages[earlier].items() if not k.startswith("_")}, {}
            fault = self._faults.pop(0) if self._faults else None
            if fault is None and self._outage is not None:
                fault = (self._outage, None)
            if fault is None and self._bucket is not None and (wait := self._bucket.take()) is not None:
                fault = (429, wait if self._bucket.retry_after else None)
        if fault is not None:
            status, retry_after = fault
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            record["http_status"] = status
            return status, twilio_error(*FAULTS[status], status), headers
        error = self._validate(form)
        if error is not None:
            record["http_status"] = error["status"]
            return error["status"], error, {}
        now = datetime.now(UTC)
        sid = "SM" + uuid.uuid4().hex
        service_only = bool(form.get("MessagingServiceSid")) and not form.get("From")
        resource = {
            "account_sid": account, "api_version": API_VERSION, "body": form["Body"],
            "date_created": format_datetime(now, usegmt=True), "date_sent": format_datetime(now, usegmt=True),
            "date_updated": format_datetime(now, usegmt=True), "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0",
            "num_segments": str(max(1, count_sms(form["Body"]).segments)), "price": None, "price_unit": "USD",
            "sid": sid, "status": "accepted" if service_only else "queued", "to": form["To"],
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}/Media.json"},
            "uri": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}.json",
        }
        with self._lock:
            self._messages[sid] = resource | {"_status_callback": form.get("StatusCallback")}
            self._accepted_at.append(time.monotonic())
            if idempotency_key:
                self._by_idempotency_key[idempotency_key] = sid
        record.update(sid=sid, http_status=201)
        return 201, resource, {}

    def _validate(self, form: dict[str, str]) -> dict[str, Any] | None:
        to, body = form.get("To", ""), form.get("Body")
        if not to:
            return twilio_error(21604, "A 'To' phone number is required.", 400)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return twilio_error(21603, "A 'From' phone number is required.", 400)
        if not body:
            return twilio_error(21602, "Message body is required.", 400)
        if to in self.opted_out_numbers:
            return twilio_error(21610, "Attempt to send to unsubscribed recipient", 400)
        if to in self.landline_numbers:
            return twilio_error(21614, f"'To' number {to} is not a valid mobile number", 400)
        if to in self.invalid_numbers or not re.fullmatch(r"\+[1-9]\d{6,14}", to):
            return twilio_error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
        if len(body) > 1600:
            return twilio_error(21617, "The concatenated message body exceeds the 1600 character limit.", 400)
        return None

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        found = []
        for message in self.messages:
            if "To" in query and message["to"] != query["To"]:
                continue
            if "From" in query and message["from"] != query["From"]:
                continue
            sent = parsedate_to_datetime(message["date_sent"])
            if not all(_date_matches(op, query[key], sent) for key, op in _DATE_FILTERS.items() if key in query):
                continue
            found.append({k: v for k, v in message.items() if not k.startswith("_")})
        return found

    def _take_loss(self) -> str | None:
        with self._lock:
            return self._losses.pop(0) if self._losses else None

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drops:
                self._drops -= 1
                return True
            return False

    def _take_hang(self, to: str | None) -> bool:
        with self._lock:
            if to in self._hangs:
                self._hangs.discard(to)
                return True
            return False


_DATE_FILTERS = {"DateSent": "=", "DateSent>": ">=", "DateSent>=": ">=", "DateSent<": "<=", "DateSent<=": "<="}


def _date_matches(op: str, value: str, sent: datetime) -> bool:
    # Twilio accepts YYYY-MM-DD (compared by day) or a full timestamp; the SDK sends %Y-%m-%dT%H:%M:%SZ.
    if len(value) == 10:
        day = datetime.strptime(value, "%Y-%m-%d").date()
        return {"=": sent.date() == day, ">=": sent.date() >= day, "<=": sent.date() <= day}[op]
    moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return {"=": sent == moment, ">=": sent >= moment, "<=": sent <= moment}[op]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests session expects
    # Headers and body leave in two writes; with Nagle's algorithm on, the body waits for the client's
    # delayed ACK (~40 ms) on a kept-alive connection, capping one sender at ~20 requests a second —
    # a stall the real API does not have, which would make every throughput figure meaningless.
    disable_nagle_algorithm = True
    server: ThreadingHTTPServer

    @property
    def fake(self) -> FakeTwilio:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        match = self._route()
        if match is None or match["sid"]:
            return self._reply(404, twilio_error(20404, f"The requested resource {self.path} was not found", 404))
        if not self._authorised(match["account"]):
            return None
        if self.fake._take_drop():
            self.close_connection = True
            self.connection.close()  # no status line, no body: the client sees the connection die
            return None
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        if self.fake._take_hang(form.get("To")):
            threading.Event().wait(self.fake.lose_seconds)  # the client has given up by now
            return self._reply(503, twilio_error(*FAULTS[503], 503))
        status, payload, headers = self.fake._create(match["account"], form, self.headers.get("Idempotency-Key"))
        loss = self.fake._take_loss() if status == 201 else None
        if loss == "drop":  # kept, and the client never hears so
            self.close_connection = True
            self.connection.close()
            return None
        if loss == "late":
            threading.Event().wait(self.fake.lose_seconds)
        if self.fake.delay_seconds:
            threading.Event().wait(self.fake.delay_seconds)
        return self._reply(status, payload, headers)

    def do_GET(self) -> None:
        match = self._route()
        if match is None:
            return self._reply(404, twilio_error(20404, f"The requested resource {self.path} was not found", 404))
        if not self._authorised(match["account"]):
            return None
        if match["sid"]:
            found = [m for m in self.fake._list({}) if m["sid"] == match["sid"]]
            if not found:
                return self._reply(404, twilio_error(20404, f"The requested resource {self.path} was not found", 404))
            return self._reply(200, found[0])
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        messages = self.fake._list(query)
        uri = urlsplit(self.path).path
        return self._reply(200, {
            "messages": messages, "start": 0, "end": max(0, len(messages) - 1), "page": 0,
            "page_size": int(query.get("PageSize", 50)), "first_page_uri": uri, "next_page_uri": None,
            "previous_page_uri": None, "uri": self.path,
        })

    def _route(self) -> dict[str, str] | None:
        match = MESSAGES_PATH.match(urlsplit(self.path).path)
        return match.groupdict() if match else None

    def _authorised(self, account: str) -> bool:
        expected = base64.b64encode(f"{self.fake.account_sid}:{self.fake.auth_token}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}" or account != self.fake.account_sid:
            self._reply(401, twilio_error(20003, "Authenticate", 401))
            return False
        return True

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); a real server would not notice either
