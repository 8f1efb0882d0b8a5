"""A generic HTTP SMS gateway on 127.0.0.1 for tests, shaped like carrier group-SMS and Aliyun/Tencent-style APIs.

    with FakeHttpSms(invalid_numbers={"+15550000000"}) as fake:
        channel = open_channel(fake.channel_url())     # http-sms://127.0.0.1:PORT/sms/send?tls=0&…
        channel.send(batch)
        fake.send_delivery_reports(webhook_url)         # POSTs DELIVRD reports with the dr token

It takes POST /sms/send with a JSON or form body {phone, content, sign?, ref?} and a bearer token in
Authorization, and answers JSON: {"code": "OK", "message": "success", "data": {"msgId": …}} on
success, or a business error with HTTP 200 — {"code": "1001", …} for an invalid number, "1002" for
empty content, or whatever `business_error_next` scripted. Scripted faults: `fail_next(n, status,
retry_after=)` (HTTP 429/500/502/503 with {"code": "<status>"}), `delay_seconds` (answer late),
`drop_connections(n)` (close the socket without answering, nothing kept), `hang_first_try(phones)` (the
first send to each: nothing kept, no answer for `lose_seconds`), `lose_answers(n, how)` (keep the message, then lose the
answer: "late" answers after `lose_seconds`, past the client's timeout; "drop" closes the socket) and
`enforce_rate(per_second, burst, retry_after)` (a gateway allowing so many sends a second, 429 above
it). A wrong token gets 401; the old path MOVED_PATH answers 301 to the current one.
Every request records its headers (Idempotency-Key among them). GET QUERY_PATH?ref=… (bearer token)
answers {"code": "OK", "data": [{"msgId", "phone", "ref", "status"}, …]} with the messages taken under
that reference (`query_channel_options()` are the URL options that point Herald's reconciler at it).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests

from channels.segments import count_sms
from tests.fakes.serving import ServedOnLoopback, TokenBucket

SEND_PATH = "/sms/send"
QUERY_PATH = "/sms/query"  # GET ?ref=…: the messages taken under that caller's reference
MOVED_PATH = "/sms/v1/send"  # answers 301 to SEND_PATH, as a gateway that moved its API does
INVALID_NUMBER = ("1001", "invalid mobile number")
EMPTY_CONTENT = ("1002", "content is empty")
FAULT_MESSAGES = {429: "too many requests", 500: "internal error", 502: "bad gateway", 503: "service unavailable"}


class FakeHttpSms(ServedOnLoopback):
    def __init__(self, *, api_token: str = "gw-api-token-0123456789", dr_token: str = "dr-shared-secret-0123456789",
                 invalid_numbers: Iterable[str] = (), delay_seconds: float = 0.0, lose_seconds: float = 1.0) -> None:
        self.api_token = api_token
        self.dr_token = dr_token
        self.invalid_numbers = set(invalid_numbers)
        self.delay_seconds = delay_seconds
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._messages: list[dict[str, Any]] = []
        self._faults: list[tuple[int, float | None]] = []
        self._business_errors: list[tuple[str, str]] = []
        self._drops = 0
        self._hangs: set[str] = set()
        self._losses: list[str] = []  # "late" or "drop", one per coming accepted send
        self.lose_seconds = lose_seconds
        self._bucket: TokenBucket | None = None
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeHttpSms:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        return self._serve(server)

    # ------------------------------------------------------------------ what tests use
    @property
    def netloc(self) -> str:
        assert self._server is not None, "FakeHttpSms is not started"
        return f"127.0.0.1:{self._server.server_address[1]}"

    def channel_url(self, *, netloc: str | None = None, path: str = SEND_PATH, **options: str | None) -> str:
        """An http-sms:// URL for this fake's shape; options override the defaults (None removes one)."""
        query: dict[str, str | None] = {
            "tls": "0", "body": "json", "auth_value": f"Bearer {self.api_token}", "to_field": "phone",
            "text_field": "content", "from_field": "sign", "success_field": "code", "success_value": "OK",
            "id_field": "data.msgId", "error_field": "message", "error_code_field": "code",
            "dr_token": self.dr_token, "dr_id_field": "msgId", "dr_status_field": "status",
            "dr_error_field": "errCode",
        } | options
        text = "&".join(f"{k}={quote(v, safe='+/,')}" for k, v in query.items() if v is not None)
        return f"http-sms://{netloc or self.netloc}{path}?{text}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every send request: method, path, content_type, authorization, fields, http_status, msg_id."""
        with self._lock:
            return [dict(r) for r in self._requests]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages accepted, oldest first: msgId, phone, content, sign, ref, segments."""
        with self._lock:
            return [dict(m) for m in self._messages]

    def fail_next(self, n: int = 1, status: int = 429, *, retry_after: float | None = None) -> None:
        """Answer the next n sends with HTTP `status` (429, 500, 502 or 503), with Retry-After if given."""
        assert status in FAULT_MESSAGES, f"fail_next supports {sorted(FAULT_MESSAGES)}"
        with self._lock:
            self._faults.extend([(status, retry_after)] * n)

    def business_error_next(self, n: int = 1, code: str = "1429", message: str = "flow control, try later") -> None:
        """Answer the next n sends with HTTP 200 and a business error code, as gateways do for quota limits."""
        with self._lock:
            self._business_errors.extend([(code, message)] * n)

    def drop_connections(self, n: int = 1) -> None:
        """Close the socket of the next n sends without answering."""
        with self._lock:
            self._drops += n

    def hang_first_try(self, phones: Iterable[str]) -> None:
        """The next send to each of `phones` gets no answer for `lose_seconds` (past the client's timeout),
        then a 503; nothing kept."""
        with self._lock:
            self._hangs |= set(phones)

    def lose_answers(self, n: int = 1, how: str = "late") -> None:
        """Keep the next n messages, then lose the answer: "late" (answer after `lose_seconds`, when the
        client has given up) or "drop" (close the socket). The client cannot know they were taken."""
        assert how in ("late", "drop"), 'lose_answers(how=) is "late" or "drop"'
        with self._lock:
            self._losses.extend([how] * n)

    def enforce_rate(self, per_second: float, *, burst: float | None = None, retry_after: bool = True) -> None:
        """Allow `per_second` sends a second (bursts of up to `burst`, default max(2, per_second / 10)); answer
        429 above it, with Retry-After = seconds until the next token unless `retry_after` is False."""
        with self._lock:
            self._bucket = TokenBucket(per_second, burst or max(2.0, per_second / 10), retry_after)

    def sent_to(self, phone: str) -> int:
        """How many messages the gateway took for `phone`."""
        with self._lock:
            return sum(m["phone"] == phone for m in self._messages)

    @staticmethod
    def query_channel_options() -> dict[str, str]:
        """The channel URL options that send Herald's reference and declare this fake's query endpoint."""
        return {"ref_field": "ref", "query_url": QUERY_PATH, "query_status_field": "data.0.status",
                "query_id_field": "data.0.msgId"}

    def delivery_reports(self, status: str = "DELIVRD", *, only: Iterable[str] | None = None,
                         error_code: str | None = None) -> list[dict[str, str]]:
        """The reports the gateway would push for its accepted messages (`only`: msgIds or phones)."""
        wanted = set(only) if only is not None else None
        reports = []
        for message in self.messages:
            if wanted is not None and not wanted & {message["msgId"], message["phone"]}:
                continue
            report = {"msgId": message["msgId"], "phone": message["phone"], "status": status,
                      "reportTime": "2026-11-23 12:00:00"}
            if message.get("ref"):
                report["ref"] = message["ref"]
            if error_code is not None:
                report["errCode"] = error_code
            reports.append(report)
        return reports

    def send_delivery_reports(self, webhook_url: str, status: str = "DELIVRD", *, only: Iterable[str] | None = None,
                              error_code: str | None = None, token: str | None = None,
                              in_query: bool = False) -> int:
        """POST the reports as one JSON list to Herald, with the token in X-Herald-Token (or ?token=).

        Returns the HTTP status Herald answered.
        """
        token = self.dr_token if token is None else token
        headers = {} if in_query else {"X-Herald-Token": token}
        url = f"{webhook_url}?token={quote(token)}" if in_query else webhook_url
        reports = self.delivery_reports(status, only=only, error_code=error_code)
        return requests.post(url, json=reports, headers=headers, timeout=10).status_code

    def send_inbound(self, webhook_url: str, *, phone: str, content: str, mo_id: str | None = None,
                     dest: str = "106900001234", token: str | None = None) -> requests.Response:
        """POST an incoming SMS (an "MO" message) to Herald as one JSON object {moId, phone, dest, content},
        with the token in X-Herald-Token; `mo_id` repeats an earlier push. Returns Herald's answer."""
        token = self.dr_token if token is None else token
        body = {"moId": mo_id or "MO" + uuid.uuid4().hex[:12], "phone": phone, "dest": dest, "content": content,
                "receiveTime": "2026-11-23 12:00:00"}
        return requests.post(webhook_url, json=body, headers={"X-Herald-Token": token}, timeout=10)

    # ------------------------------------------------------------------ the API, called by the handler
    def _send(self, record: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self._requests.append(record)
            fault = self._faults.pop(0) if self._faults else None
            if fault is None and self._bucket is not None and (wait := self._bucket.take()) is not None:
                fault = (429, wait if self._bucket.retry_after else None)
            business = self._business_errors.pop(0) if self._business_errors and fault is None else None
        if record["authorization"] != f"Bearer {self.api_token}":
            return self._answer(record, 401, {"code": "401", "message": "invalid token"})
        if fault is not None:
            status, retry_after = fault
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return self._answer(record, status, {"code": str(status), "message": FAULT_MESSAGES[status]}, headers)
        fields = record["fields"]
        phone, content = str(fields.get("phone") or ""), str(fields.get("content") or "")
        error = (business or (INVALID_NUMBER if phone in self.invalid_numbers or not phone.startswith("+") else None)
                 or (EMPTY_CONTENT if not content else None))
        if error is not None:
            return self._answer(record, 200, {"code": error[0], "message": f"{error[1]}: {phone}"})
        msg_id = uuid.uuid4().hex
        with self._lock:
            self._messages.append({"msgId": msg_id, "phone": phone, "content": content, "sign": fields.get("sign"),
                                   "ref": fields.get("ref"), "segments": count_sms(content).segments})
        record["msg_id"] = msg_id
        return self._answer(record, 200, {"code": "OK", "message": "success", "data": {"msgId": msg_id}})

    @staticmethod
    def _answer(record: dict[str, Any], status: int, payload: dict[str, Any],
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
        record["http_status"] = status
        return status, payload, headers or {}

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drops:
                self._drops -= 1
                return True
            return False

    def _take_hang(self, phone: object) -> bool:
        with self._lock:
            if phone in self._hangs:
                self._hangs.discard(phone)  # type: ignore[arg-type]
                return True
            return False

    def _take_loss(self) -> str | None:
        with self._lock:
            return self._losses.pop(0) if self._losses else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a requests Session expects
    server: ThreadingHTTPServer

    @property
    def fake(self) -> FakeHttpSms:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        self._handle(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())

    def do_PUT(self) -> None:
        self.do_POST()

    def do_GET(self) -> None:
        if urlsplit(self.path).path == QUERY_PATH:
            return self._query()
        self._handle("")

    def _query(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {self.fake.api_token}":
            return self._reply(401, {"code": "401", "message": "invalid token"})
        ref = parse_qs(urlsplit(self.path).query).get("ref", [""])[-1]
        found = [{"msgId": m["msgId"], "phone": m["phone"], "ref": m["ref"], "status": "DELIVRD"}
                 for m in self.fake.messages if m["ref"] is not None and str(m["ref"]) == ref]
        return self._reply(200, {"code": "OK", "message": "success", "data": found})

    def _handle(self, raw: str) -> None:
        parts = urlsplit(self.path)
        if parts.path == MOVED_PATH:
            return self._reply(301, {"code": "301", "message": "moved permanently"}, {"Location": SEND_PATH})
        if parts.path != SEND_PATH:
            return self._reply(404, {"code": "404", "message": f"no such API {parts.path}"})
        if self.fake._take_drop():
            self.close_connection = True
            self.connection.close()  # no status line, no body: the client sees the connection die
            return None
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if self.command == "GET":
            fields: Any = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        elif content_type == "application/json":
            try:
                fields = json.loads(raw)
            except ValueError:
                return self._reply(400, {"code": "400", "message": "body is not JSON"})
        else:
            fields = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        if isinstance(fields, dict) and self.fake._take_hang(fields.get("phone")):
            threading.Event().wait(self.fake.lose_seconds)  # the client has given up by now
            return self._reply(503, {"code": "503", "message": FAULT_MESSAGES[503]})
        record = {"method": self.command, "path": parts.path, "content_type": content_type,
                  "authorization": self.headers.get("Authorization"), "headers": dict(self.headers.items()),
                  "fields": fields, "http_status": None, "msg_id": None}
        status, payload, headers = self.fake._send(record)
        loss = self.fake._take_loss() if record["msg_id"] else None
        if loss == "drop":  # kept, and the client never hears so
            self.close_connection = True
            self.connection.close()
            return None
        if loss == "late":
            threading.Event().wait(self.fake.lose_seconds)
        if self.fake.delay_seconds:
            threading.Event().wait(self.fake.delay_seconds)
        return self._reply(status, payload, headers)

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); a real server would not notice either
