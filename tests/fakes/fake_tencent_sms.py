"""Tencent Cloud SMS (API 3.0, SendSms 2021-01-11) on 127.0.0.1 for tests, checking TC3-HMAC-SHA256 as the service does.

    with FakeTencentSms(templates={"1110": "会员日到了，{1}您好"}) as fake:
        channel = open_channel(fake.channel_url())          # tencent-sms://ID:KEY@default?app_id=…&api_base=…
        channel.send(batch)
        fake.send_reports(report_url)                        # receipts, ?token= in the URL

It takes POST / with a JSON body and recomputes the Authorization header as "Signature v3" describes:
the canonical request from the method, "/", the empty query, the headers named in SignedHeaders
(lower-case name:trimmed value, as this request carried them) and the body's SHA-256; the string to
sign with X-TC-Timestamp and the credential scope; the key chained from "TC3"+SecretKey over the date,
"sms" and "tc3_request". Like API 3.0 it answers HTTP 200 with {"Response": {"Error": …}} when a request
is refused: AuthFailure.SignatureFailure, AuthFailure.SecretIdNotFound, AuthFailure.SignatureExpire
(five minutes off), InvalidAction. Per number (SendStatusSet): FailedOperation.TemplateIncorrectOrUnapproved,
InvalidParameterValue.IncorrectPhoneNumber (`invalid_numbers`), FailedOperation.PhoneNumberInBlacklist
(`blacklisted_numbers`, who texted 退订); else "Ok" with SerialNo and Fee (the SMS it was billed as).
Scripted: `fail_next(n, code)` (RequestLimitExceeded, InternalError… as an Error; HTTP 503 for "503"),
`delay_seconds`. Callbacks: `send_reports` (a list of receipts) and `send_reply` (one reply object).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import requests

from channels.segments import count_sms
from tests.fakes.serving import ServedOnLoopback

PLACEHOLDER = re.compile(r"\{(\d+)\}")
AUTHORIZATION = re.compile(r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>[0-9-]+)/(?P<service>[^/]+)"
                           r"/tc3_request, "
                           r"SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})")


def server_signature(*, secret_key: str, date: str, service: str, timestamp: str, canonical_request: str) -> str:
    """The signature the service computes (written from "Signature v3", not imported from Herald)."""
    def sign(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()

    string_to_sign = (f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n"
                      + hashlib.sha256(canonical_request.encode("utf-8")).hexdigest())
    key = sign(sign(sign(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class FakeTencentSms(ServedOnLoopback):
    def __init__(self, *, secret_id: str = "AKIDfakeSecretId0123456789", secret_key: str = "fake-tencent-key-0123",
                 app_id: str = "1400006666", sign_name: str = "赫拉德", templates: Mapping[str, str] | None = None,
                 invalid_numbers: Iterable[str] = (), blacklisted_numbers: Iterable[str] = (),
                 callback_token: str = "tencent-callback-token-0123", delay_seconds: float = 0.0) -> None:
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.app_id = app_id
        self.sign_name = sign_name
        self.templates = dict(templates or {"1110": "会员日到了，{1}您好，全场{2}折，回TD退订"})
        self.invalid_numbers = set(invalid_numbers)
        self.blacklisted_numbers = set(blacklisted_numbers)
        self.callback_token = callback_token
        self.delay_seconds = delay_seconds
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._refusals: list[str] = []
        self._faults: list[str] = []

    def start(self) -> FakeTencentSms:
        return self._serve(ThreadingHTTPServer(("127.0.0.1", 0), _Handler))

    @property
    def api_base(self) -> str:
        assert self._server is not None, "FakeTencentSms is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"  # type: ignore[attr-defined]

    def channel_url(self, *, secret: str | None = None, api_base: str | None = None, **options: str) -> str:
        query = {"app_id": self.app_id, "sign_name": self.sign_name, "callback_token": self.callback_token,
                 "api_base": api_base or self.api_base} | options
        text = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        return f"tencent-sms://{self.secret_id}:{quote(secret or self.secret_key, safe='')}@default?{text}"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Accepted messages: serial_no, phone, content (as the phone shows it), template, params, context, fee."""
        with self._lock:
            return [dict(m) for m in self._messages]

    @property
    def refusals(self) -> list[str]:
        with self._lock:
            return list(self._refusals)

    def fail_next(self, n: int = 1, code: str = "RequestLimitExceeded") -> None:
        with self._lock:
            self._faults.extend([code] * n)

    def report(self, message: Mapping[str, Any], *, success: bool = True) -> dict[str, Any]:
        return {"user_receive_time": "2026-11-23 10:00:05", "nationcode": "86",
                "mobile": message["phone"].removeprefix("+86"), "report_status": "SUCCESS" if success else "FAIL",
                "errmsg": "DELIVRD" if success else "MK:0005", "description": "用户短信送达成功" if success else "空号",
                "sid": message["serial_no"]}

    def send_reports(self, url: str, *, success: bool = True, token: str | None = None) -> requests.Response:
        body = [self.report(m, success=success) for m in self.messages]
        return requests.post(_with_token(url, token if token is not None else self.callback_token), json=body,
                             timeout=10)

    def send_reply(self, url: str, *, mobile: str, text: str, at: int | None = None,
                   token: str | None = None) -> requests.Response:
        body = {"extend": "", "mobile": mobile, "nationcode": "86", "sign": self.sign_name, "text": text,
                "time": at or int(time.time())}
        return requests.post(_with_token(url, token if token is not None else self.callback_token), json=body,
                             timeout=10)

    # ------------------------------------------------------------------ the API, called by the handler
    def _call(self, headers: Mapping[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        request_id = str(uuid.uuid4())
        lower = {k.lower(): v for k, v in headers.items()}
        refusal = self._check_signature(lower, raw)
        if refusal is None and lower.get("x-tc-action") != "SendSms":
            refusal = ("InvalidAction", "The action requested does not exist.")
        with self._lock:
            fault = self._faults.pop(0) if self._faults and refusal is None else None
        if fault == "503":
            return 503, {"message": "service unavailable"}
        if refusal is None and fault is not None:
            refusal = (fault, f"scripted fault {fault}")
        if refusal is not None:
            with self._lock:
                self._refusals.append(refusal[0])
            return 200, {"Response": {"Error": {"Code": refusal[0], "Message": refusal[1]}, "RequestId": request_id}}
        if self.delay_seconds:
            threading.Event().wait(self.delay_seconds)
        body = json.loads(raw)
        statuses = [self._send_one(body, phone) for phone in body.get("PhoneNumberSet") or []]
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}

    def _check_signature(self, lower: Mapping[str, str], raw: bytes) -> tuple[str, str] | None:
        found = AUTHORIZATION.fullmatch(lower.get("authorization", ""))
        if found is None:
            return "AuthFailure.InvalidAuthorization", "Authorization in the request header is invalid."
        if found["id"] != self.secret_id:
            return "AuthFailure.SecretIdNotFound", "The SecretId is not found."
        stamp = lower.get("x-tc-timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return "AuthFailure.SignatureExpire", "Signature expired."
        if datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d") != found["date"]:
            return "AuthFailure.SignatureFailure", "The credential date is not the timestamp's date."
        signed = found["headers"].split(";")
        if "content-type" not in signed or "host" not in signed:
            return "AuthFailure.SignatureFailure", "SignedHeaders must include content-type and host."
        canonical_headers = "".join(f"{name}:{lower.get(name, '').strip().lower()}\n" for name in signed)
        canonical_request = "\n".join(["POST", "/", "", canonical_headers, found["headers"],
                                       hashlib.sha256(raw).hexdigest()])
        expected = server_signature(secret_key=self.secret_key, date=found["date"], service=found["service"],
                                    timestamp=stamp, canonical_request=canonical_request)
        if not hmac.compare_digest(expected, found["signature"]):
            return ("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check "
                    "your signature is correct.")
        return None

    def _send_one(self, body: Mapping[str, Any], phone: str) -> dict[str, Any]:
        status: dict[str, Any] = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0,
                                  "SessionContext": body.get("SessionContext", ""), "IsoCode": "CN"}
        template = self.templates.get(str(body.get("TemplateId")))
        params = [str(p) for p in body.get("TemplateParamSet") or []]
        if body.get("SmsSdkAppId") != self.app_id:
            return status | {"Code": "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
                             "Message": "SmsSdkAppId verify fail"}
        if body.get("SignName") != self.sign_name:
            return status | {"Code": "FailedOperation.SignatureIncorrectOrUnapproved",
                             "Message": "签名未审批或格式错误"}
        if template is None or len(set(PLACEHOLDER.findall(template))) != len(params):
            return status | {"Code": "FailedOperation.TemplateIncorrectOrUnapproved",
                             "Message": "模板未审批或内容不匹配"}
        if phone in self.invalid_numbers or not phone.startswith("+"):
            return status | {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "手机号格式错误"}
        if phone in self.blacklisted_numbers:
            return status | {"Code": "FailedOperation.PhoneNumberInBlacklist", "Message": "手机号在免打扰名单库中"}
        content = f"【{self.sign_name}】" + PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], template)
        fee = count_sms(content).segments
        serial = f"{uuid.uuid4().int % 10**10}:{uuid.uuid4().int % 10**20}"
        with self._lock:
            self._messages.append({"serial_no": serial, "phone": phone, "content": content,
                                   "template": str(body.get("TemplateId")), "params": params,
                                   "context": body.get("SessionContext", ""), "fee": fee})
        return status | {"SerialNo": serial, "Fee": fee, "Code": "Ok", "Message": "send success"}


def _with_token(url: str, token: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}token={quote(token, safe='')}" if token else url


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload = self.server.fake._call(dict(self.headers.items()), raw)  # type: ignore[attr-defined]
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
