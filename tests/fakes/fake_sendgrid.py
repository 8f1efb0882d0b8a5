"""SendGrid's v3 mail/send API on 127.0.0.1 for tests: the request shape SendGrid checks, its answers.

    with FakeSendGrid(invalid={"bad@@example.com"}) as fake:
        channel = open_channel(fake.channel_url())   # https-email://KEY@api.sendgrid.com?api_base=http://…
        ...
        fake.messages[0]["personalizations"][0]["custom_args"]["herald_message_id"]

POST /v3/mail/send with `Authorization: Bearer <api_key>` and a JSON body; 202 with X-Message-Id when
it is whole; 400 {"errors": [{"message", "field"}]} for a missing part or an address in `invalid`;
401 for a wrong key. Scripted faults: `fail_next(n, status)` (429 with X-RateLimit-Reset, 500, 503),
`delay_seconds` (answer late) and `lose_answers(n)` (keep the message, then close the socket unanswered).

The Email Activity API: GET /v3/messages?query=…&limit=N answers {"messages": [{"msg_id", "to_email",
"from_email", "subject", "status", "opens_count", "clicks_count", "last_event_time"}]} for the kept
messages matching every `to_email="…"`, `msg_id="…"` and `unique_args['NAME']="…"` term of the query
(joined by AND, as SendGrid's query language writes them); `activity_access=False` answers 403, as
SendGrid does for a key without Email Activity access.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.serving import ServedOnLoopback


class FakeSendGrid(ServedOnLoopback):
    def __init__(self, *, api_key: str = "SG.fake-api-key-0123456789", invalid: set[str] | None = None,
                 delay_seconds: float = 0.0, activity_access: bool = True) -> None:
        self.api_key = api_key
        self.invalid = set(invalid or ())
        self.delay_seconds = delay_seconds
        self.messages: list[dict[str, Any]] = []
        self._faults: list[int] = []
        self._losses = 0
        self.activity_access = activity_access
        self.activity_queries: list[str] = []  # every Email Activity query, as received
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeSendGrid:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        return self._serve(server)

    @property
    def base(self) -> str:
        assert self._server is not None, "FakeSendGrid is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def channel_url(self, *, api_base: str | None = None, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in ({"from": "news@shop.example", "api_base": api_base or self.base}
                                                  | options).items())
        return f"https-email://{self.api_key}@api.sendgrid.com?{query}"

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        with self._lock:
            self._faults.extend([status] * n)

    def lose_answers(self, n: int = 1) -> None:
        """Keep the next n messages, then close the socket without answering."""
        with self._lock:
            self._losses += n

    def sent_to(self, address: str) -> int:
        """How many messages SendGrid kept for `address`."""
        with self._lock:
            return sum(p["email"] == address for m in self.messages for p in m["personalizations"][0]["to"])

    def _take_loss(self) -> bool:
        with self._lock:
            if self._losses:
                self._losses -= 1
                return True
            return False

    def _activity(self, query: str) -> list[dict[str, Any]]:
        terms = _TERM.findall(query)
        found = []
        with self._lock:
            self.activity_queries.append(query)
            for mail in self.messages:
                person = mail["personalizations"][0]
                fields = {"to_email": person["to"][0]["email"], "msg_id": mail["msg_id"],
                          **{f"unique_args['{k}']": str(v) for k, v in (person.get("custom_args") or {}).items()}}
                if all(fields.get(name) == value for name, value in terms):
                    found.append({"msg_id": mail["msg_id"], "to_email": fields["to_email"],
                                  "from_email": mail["from"]["email"], "subject": mail.get("subject", ""),
                                  "status": "delivered", "opens_count": 0, "clicks_count": 0,
                                  "last_event_time": "2026-01-05T09:00:00Z"})
        return found

    def _next_fault(self) -> int | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None


# One `name="value"` term of an Email Activity query: to_email, msg_id or unique_args['NAME'].
_TERM = re.compile(r"(to_email|msg_id|unique_args\['[^']+'\])\s*=\s*\"([^\"]*)\"")


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        fake: FakeSendGrid = self.server.fake
        parts = urlsplit(self.path)
        if parts.path != "/v3/messages":
            return self._answer(404, {"errors": [{"message": "not found"}]})
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._answer(401, {"errors": [{"message": "authorization required", "field": None}]})
        if not fake.activity_access:
            return self._answer(403, {"errors": [{"message": "access forbidden", "field": None}]})
        params = parse_qs(parts.query)
        found = fake._activity(params.get("query", [""])[-1])
        return self._answer(200, {"messages": found[:int(params.get("limit", ["10"])[-1])]})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        fake: FakeSendGrid = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if fake.delay_seconds:
            time.sleep(fake.delay_seconds)
        if self.path != "/v3/mail/send":
            return self._answer(404, {"errors": [{"message": "not found"}]})
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._answer(401, {"errors": [{"message": "The provided authorization grant is invalid, "
                                                             "expired, or revoked", "field": None}]})
        fault = fake._next_fault()
        if fault == 429:
            return self._answer(429, {"errors": [{"message": "too many requests"}]},
                                {"X-RateLimit-Reset": str(int(time.time()) + 2)})
        if fault:
            return self._answer(fault, {"errors": [{"message": "service unavailable"}]})
        try:
            mail = json.loads(body)
        except ValueError:
            return self._answer(400, {"errors": [{"message": "Bad Request", "field": None}]})
        problem = _check(mail, fake.invalid)
        if problem:
            return self._answer(400, {"errors": [problem]})
        message_id = uuid.uuid4().hex[:22]
        with fake._lock:
            # msg_id as the Email Activity API shows it: the X-Message-Id, then SendGrid's per-recipient suffix
            fake.messages.append(mail | {"x_message_id": message_id,
                                         "msg_id": f"{message_id}.filterdrecv-5645d9c87f-2x5bt-1-0"})
        if fake._take_loss():  # kept, and the client never hears so
            self.close_connection = True
            self.connection.close()
            return None
        self._answer(202, None, {"X-Message-Id": message_id})

    def _answer(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _check(mail: Any, invalid: set[str]) -> dict[str, str] | None:
    if not isinstance(mail, dict):
        return {"message": "The request body must be a JSON object", "field": ""}
    people = mail.get("personalizations") or []
    if not people or not people[0].get("to"):
        return {"message": "The personalizations field is required", "field": "personalizations"}
    for index, person in enumerate(people[0]["to"]):
        if person.get("email") in invalid or "@" not in str(person.get("email", "")):
            return {"message": "Does not contain a valid address.", "field": f"personalizations.0.to.{index}.email"}
    if not (mail.get("from") or {}).get("email"):
        return {"message": "The from email does not contain a valid address.", "field": "from.email"}
    if not mail.get("subject"):
        return {"message": "The subject is required.", "field": "subject"}
    content = mail.get("content") or []
    if not content or any(not part.get("value") for part in content):
        return {"message": "The content value must be a string at least one character in length.", "field": "content"}
    if content[0].get("type") != "text/plain" and any(p.get("type") == "text/plain" for p in content):
        return {"message": "text/plain must come first", "field": "content.0.type"}
    return None
