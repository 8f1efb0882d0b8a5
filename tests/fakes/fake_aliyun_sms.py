"""Alibaba Cloud SMS (dysmsapi 2017-05-25 SendSms) on 127.0.0.1 for tests, checking signatures as the service does.

    with FakeAliyunSms(templates={"SMS_100": "会员日到了，${name}您好"}) as fake:
        channel = open_channel(fake.channel_url())          # aliyun-sms://ID:SECRET@default?api_base=…
        channel.send(batch)
        fake.send_reports(report_url)                        # SmsReport receipts, ?token= in the URL

It takes POST / with the RPC parameters form-encoded and recomputes the signature the way Alibaba Cloud's
"Signature mechanism" page describes (sorted, RFC 3986-encoded parameters; "POST&%2F&" + the encoded
query; HMAC-SHA1 with AccessKeySecret + "&"): a wrong one gets HTTP 400 SignatureDoesNotMatch, an
unknown AccessKeyId 404 InvalidAccessKeyId.NotFound, a Timestamp 15 minutes off 400
InvalidTimeStamp.Expired, a nonce used before 400 SignatureNonceUsed. Then, as SendSms answers with
HTTP 200: an unknown TemplateCode isv.SMS_TEMPLATE_ILLEGAL, a missing parameter
isv.TEMPLATE_MISSING_PARAMETERS, a number in `invalid_numbers` isv.MOBILE_NUMBER_ILLEGAL; else
{"Code": "OK", "BizId": …} and the message is kept as the phone shows it (【签名】 + filled template).
Scripted: `fail_next(n, code)` (any code: Throttling.User answers 400 as the gateway does, ServiceUnavailable
503, others 200), `delay_seconds`. Callbacks: `send_reports` (SmsReport) and `send_reply` (SmsUp).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from channels.segments import count_sms
from tests.fakes.serving import ServedOnLoopback

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
HTTP_STATUS = {"Throttling.User": 400, "Throttling": 400, "ServiceUnavailable": 503, "isp.SYSTEM_ERROR": 500}
REQUIRED = ("AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp",
            "Version", "Signature")


def server_signature(params: Mapping[str, str], secret: str) -> str:
    """The signature the service computes, written here from its documentation, not imported from Herald,
    so a mistake in Herald's signing cannot be mirrored by the fake."""
    def encode(text: str) -> str:
        return quote(text, safe="-_.~")

    query = "&".join(encode(k) + "=" + encode(params[k]) for k in sorted(params))
    string_to_sign = "POST&%2F&" + encode(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


class FakeAliyunSms(ServedOnLoopback):
    def __init__(self, *, access_key_id: str = "LTAI5tFakeKeyId0001",
                 access_key_secret: str = "fake-aliyun-secret-0123",
                 sign_name: str = "赫拉德", templates: Mapping[str, str] | None = None,
                 invalid_numbers: Iterable[str] = (), callback_token: str = "aliyun-callback-token-0123",
                 delay_seconds: float = 0.0) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.templates = dict(templates or {"SMS_100": "会员日到了，${name}您好，全场${discount}折，回TD退订"})
        self.invalid_numbers = set(invalid_numbers)
        self.callback_token = callback_token
        self.delay_seconds = delay_seconds
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._refusals: list[dict[str, Any]] = []
        self._faults: list[str] = []
        self._nonces: set[str] = set()

    def start(self) -> FakeAliyunSms:
        return self._serve(ThreadingHTTPServer(("127.0.0.1", 0), _Handler))

    @property
    def api_base(self) -> str:
        assert self._server is not None, "FakeAliyunSms is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"  # type: ignore[attr-defined]

    def channel_url(self, *, secret: str | None = None, api_base: str | None = None, **options: str) -> str:
        query = {"sign_name": self.sign_name, "callback_token": self.callback_token,
                 "api_base": api_base or self.api_base} | options
        text = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        return f"aliyun-sms://{self.access_key_id}:{quote(secret or self.access_key_secret, safe='')}@default?{text}"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Accepted messages: biz_id, phone, content (as the phone shows it), template, params, out_id, segments."""
        with self._lock:
            return [dict(m) for m in self._messages]

    @property
    def refusals(self) -> list[dict[str, Any]]:
        """Every refused request: the Code and, for a bad signature, the string the server signed."""
        with self._lock:
            return [dict(r) for r in self._refusals]

    def fail_next(self, n: int = 1, code: str = "Throttling.User") -> None:
        with self._lock:
            self._faults.extend([code] * n)

    def report(self, message: Mapping[str, Any], *, success: bool = True, err_code: str = "") -> dict[str, Any]:
        """One SmsReport receipt for an accepted message, as the platform pushes it."""
        return {"phone_number": message["phone"], "send_time": "2026-11-23 10:00:00",
                "report_time": "2026-11-23 10:00:05", "success": success,
                "err_code": err_code or ("DELIVERED" if success else "IC:0015"),
                "err_msg": "用户接收成功" if success else "空号", "sms_size": str(message["segments"]),
                "biz_id": message["biz_id"], "out_id": message["out_id"]}

    def send_reports(self, url: str, *, success: bool = True, err_code: str = "", token: str | None = None
                     ) -> requests.Response:
        """POST a receipt for every accepted message, as one JSON list, with ?token= as the console's URL has it."""
        body = [self.report(m, success=success, err_code=err_code) for m in self.messages]
        return requests.post(_with_token(url, token if token is not None else self.callback_token), json=body,
                             timeout=10)

    def send_reply(self, url: str, *, phone: str, content: str, sequence_id: int | None = None,
                   token: str | None = None) -> requests.Response:
        """POST one SmsUp reply (phone as the platform writes it: 13812345678)."""
        body = [{"phone_number": phone, "content": content, "send_time": "2026-11-23 10:01:00",
                 "dest_code": "1234", "sequence_id": sequence_id or uuid.uuid4().int % 10**10}]
        return requests.post(_with_token(url, token if token is not None else self.callback_token), json=body,
                             timeout=10)

    # ------------------------------------------------------------------ the API, called by the handler
    def _send_sms(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        request_id = str(uuid.uuid4()).upper()
        missing = [name for name in REQUIRED if not params.get(name)]
        if missing:
            return self._refuse(400, "MissingParameter", f"{missing[0]} is mandatory for this action.", request_id)
        if params["AccessKeyId"] != self.access_key_id:
            return self._refuse(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", request_id)
        try:
            stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self._refuse(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.", request_id)
        if abs(datetime.now(UTC) - stamp) > timedelta(minutes=15):
            return self._refuse(400, "InvalidTimeStamp.Expired", "Specified time stamp or date header is expired.",
                                request_id)
        signature = params.pop("Signature")
        expected = server_signature(params, self.access_key_secret)
        if signature != expected:
            return self._refuse(400, "SignatureDoesNotMatch", "Specified signature is not matched with our "
                                "calculation.", request_id)
        with self._lock:
            if params["SignatureNonce"] in self._nonces:
                nonce_used = True
            else:
                nonce_used = False
                self._nonces.add(params["SignatureNonce"])
            fault = self._faults.pop(0) if self._faults else None
        if nonce_used:
            return self._refuse(400, "SignatureNonceUsed", "Specified signature nonce was used already.", request_id)
        if fault is not None:
            return self._refuse(HTTP_STATUS.get(fault, 200), fault, f"scripted fault {fault}", request_id)
        if self.delay_seconds:
            threading.Event().wait(self.delay_seconds)
        return self._send_checked(params, request_id)

    def _send_checked(self, params: dict[str, str], request_id: str) -> tuple[int, dict[str, Any]]:
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return self._refuse(400, "InvalidAction.NotFound", "Specified api is not found.", request_id)
        if params.get("SignName") != self.sign_name:
            return self._refuse(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名", request_id)
        template = self.templates.get(params.get("TemplateCode", ""))
        if template is None:
            return self._refuse(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板", request_id)
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return self._refuse(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", request_id)
        names = PLACEHOLDER.findall(template)
        if any(name not in values for name in names):
            return self._refuse(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值", request_id)
        phone = params.get("PhoneNumbers", "")
        if phone in self.invalid_numbers or not phone.isdigit():
            return self._refuse(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", request_id)
        content = f"【{self.sign_name}】" + PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)
        biz_id = f"{uuid.uuid4().int % 10**16}^0"
        with self._lock:
            self._messages.append({"biz_id": biz_id, "phone": phone, "content": content,
                                   "template": params["TemplateCode"], "params": values,
                                   "out_id": params.get("OutId", ""), "segments": count_sms(content).segments})
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    def _refuse(self, status: int, code: str, message: str, request_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self._refusals.append({"code": code, "status": status})
        return status, {"Code": code, "Message": message, "RequestId": request_id}


def _with_token(url: str, token: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}token={quote(token, safe='')}" if token else url


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        # The signature covers every parameter, wherever the client put it: the query and the form body.
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        params.update(parse_qsl(raw, keep_blank_values=True))
        status, payload = self.server.fake._send_sms(params)  # type: ignore[attr-defined]
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
