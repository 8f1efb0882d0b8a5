"""SMS through any HTTP gateway (carrier group-SMS platforms, Aliyun/Tencent-style APIs), configured by URL only.

    http-sms://sms.example.com/api/send?body=json&auth_value=Bearer%20xyz&to_field=phone&text_field=content
        &success_field=code&success_value=OK&id_field=data.msgId&error_field=message&signature=【公司名】

The URL's host, port and path are the gateway's send endpoint (https unless `tls=0`). One request per
message: every contact gets their own rendered text, and a per-message answer keeps one result per
message. Options (all optional unless said; "path" means a dotted path into the JSON, `data.msgId`,
with numbers indexing lists, `results.0.sid`; a form field whose name contains dots is matched as is):

Request
- `method`      POST (default), PUT or GET (GET sends the fields as query parameters).
- `body`        json (default) or form (application/x-www-form-urlencoded).
- `auth_header` header that carries `auth_value` (default Authorization).
- `auth_value`  the header's value, e.g. `Bearer%20xyz` or `APPCODE%20abc`; secret, masked by describe().
                `user:password@host` in the URL sends HTTP basic auth instead or as well.
- `to_field`    field for the recipient's E.164 number (default `to`); a dotted name nests in JSON.
- `text_field`  field for the message text (default `text`).
- `from_field`  field for the sender (default `from`), sent only when there is a sender:
- `from`        the sender number or ID (else the channel's from_address, else none).
- `ref_field`   field that carries Herald's message id, for gateways that echo a caller's reference
                (Aliyun OutId, Tencent SessionContext) in delivery reports; see `dr_ref_field`.
                Every request also carries an `Idempotency-Key` header, the same on every try of a message.
- `extra.NAME=VALUE`  a constant field sent with every message, e.g. `extra.template_id=SMS_1234`.
- `signature`   a sender signature such as 【公司名】, put before every text that does not already start
                with it. Chinese carriers require one; it is part of the billed length, so the segments
                reported for each message count it.

Response (a 2xx answer is accepted unless `success_field` says otherwise)
- `success_field`   path of the field that says whether the gateway took the message, e.g. `code`.
- `success_value`   the value(s) meaning success, comma separated: `OK`, `0,200`. Required with
                    success_field. Compared as text, so JSON 0 matches "0" and true matches "true".
- `id_field`        path of the gateway's message id, e.g. `data.msgId`; delivery reports name it.
                    Without it (or when the answer lacks it) the id is `herald-<message id>`.
- `error_field`     path of the gateway's error text (the reason recorded on a refused message).
- `error_code_field` path of the gateway's error code (default: success_field).
- `transient_codes` gateway error codes worth retrying (flow control, quota), comma separated;
                    any other business error in a 2xx answer fails the message for good.

Connection
- `tls`      1 (default, https) or 0 (plain http, for a gateway on a private network or a test fake).
- `timeout`  seconds to wait for the gateway (default 10).
- `rate`     sends per period (default 10/second), e.g. `rate=50/second`.

Delivery reports (POST {base_url}/webhooks/http-sms/status; see http_sms.webhooks.parse_http_sms_webhook)
- `dr_token`          shared secret, required for reports to be taken; the gateway sends it as the
                      `token` query parameter of the report URL or in the `dr_token_header` header.
- `dr_token_header`   header carrying the token (default X-Herald-Token).
- `dr_id_field`       path of the gateway's message id in a report (default `id`).
- `dr_ref_field`      path of the echoed `ref_field` value (Herald's message id), when used.
- `dr_status_field`   path of the report's status (default `status`).
- `dr_delivered_values` statuses meaning delivered (default DELIVRD, the SMPP/CMPP word).
- `dr_sent_values`    statuses meaning "on its way" (default ACCEPTD,ENROUTE).
- `dr_failed_values`  statuses meaning failed (default UNDELIV,EXPIRED,REJECTD,DELETED,UNKNOWN).
- `dr_error_field`    path of the report's error code, recorded on a failed message.
- `dr_list_field`     path of the list of reports when the gateway wraps them, e.g. `reports`
                      (a bare JSON list, one JSON object or one form is read without it).
- `dr_reply`          the body to answer a taken report with (200, JSON), for gateways that retry
                      until they read their own acknowledgement, e.g. `{"code":0,"msg":"OK"}`
                      (percent-encoded in the URL); without it Herald answers 204 No Content.
Status values are compared without regard to case; a status in none of the lists is refused by name.

Incoming SMS (POST {base_url}/webhooks/http-sms/inbound; see http_sms.webhooks.parse_http_sms_inbound),
proved by the same dr_token and answered with the same dr_reply:
- `in_id_field`       path of the gateway's id for the incoming message (default `id`); a repeat is one reply.
- `in_from_field`     path of the sender's number (default `from`).
- `in_to_field`       path of the number or code it was sent to (default `to`).
- `in_text_field`     path of the text (default `text`).
- `in_list_field`     path of the list when the gateway wraps several messages, e.g. `messages`.

Asking what became of a message whose answer was lost (query_url, query_status_field, …): see
channels/http_sms/query.py.

Classification (send): HTTP 429 and 5xx, timeouts and connection errors are transient (the
Retry-After of a 429 or 5xx is honoured); 401/403 mean Herald's credentials are wrong, and a 3xx
that the URL points at a moved endpoint: both are the operator's to fix, not the recipient's fault,
so they are transient too and stop the batch (as Twilio's 20003 does); other 4xx are permanent; a
2xx whose success field does not match is permanent unless its error code is in `transient_codes`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

import requests

from channels.base import (
    SIGNATURE_PLACEHOLDER,
    Accepted,
    Outgoing,
    Refused,
    ResultListener,
    SendResult,
    SentQuestion,
    Sighting,
    retry_after_seconds,
    send_each,
)
from channels.http_sms.query import as_text as _text
from channels.http_sms.query import dig as _dig
from channels.http_sms.query import look_up_by_reference
from channels.http_sms.url import SCHEME as SCHEME  # the registry reads http_sms.SCHEME
from channels.http_sms.url import GatewayOptions, _describe, _parse
from channels.segments import count_sms
from channels.unanswered import never_connected


def with_signature(text: str, signature: str) -> str:
    """`text` with the sender signature in front, unless it is empty or the text already starts with it; a
    text with the 【签名】 placeholder (the template gallery's) gets the signature in its place instead."""
    if not signature:
        return text
    if SIGNATURE_PLACEHOLDER in text:
        return text.replace(SIGNATURE_PLACEHOLDER, signature)
    if text.startswith(signature):
        return text
    return signature + text


def from_url(url: str, *, from_address: str = "") -> HttpSmsChannel:
    """Open an HTTP SMS gateway channel (no request is made yet). Raises ChannelConfigError naming the fix."""
    parsed, options = _parse(url, from_address=from_address)
    return HttpSmsChannel(options, description=_describe(parsed))


class HttpSmsChannel:
    name = "http-sms"
    dry_run = False
    reports_each_result = True  # one request per message: each answer is known as it comes (channels/base.py)
    look_up_how = "the gateway's query endpoint, by Herald's reference (ref_field)"

    def __init__(self, options: GatewayOptions, *, description: str) -> None:
        self.options = options
        if options.query is None:
            self.look_up = None  # no query endpoint declared: unknown rows stay unknown (channels.can_look_up)
        self.rate = options.rate
        self.max_length = options.max_length
        self.signature = options.signature
        self._description = description
        self._session: requests.Session | None = None
        self._lock = threading.Lock()  # one worker per instance; the lock makes accidental sharing safe

    def describe(self) -> str:
        return self._description

    def as_sent(self, text: str) -> str:
        """The text as the gateway gets it: signed (channels.text_as_sent explains who else counts on it)."""
        return with_signature(text, self.options.signature)

    def send(self, batch: Sequence[Outgoing], on_result: ResultListener | None = None) -> list[SendResult]:
        """One request per message; one result per message, in batch order; never raises for the gateway or network.

        A timeout, a connection failure, a 429 or rejected credentials stop the batch: the remaining
        messages get the same transient refusal without being tried, since they would meet the same answer.
        `on_result` hears each result as soon as the gateway answered.
        """
        with self._lock:
            return send_each(batch, self._send_one, on_result)

    def look_up(self, questions: Sequence[SentQuestion]) -> dict[int, list[Sighting]]:
        """Ask the gateway's query endpoint for each message by its reference (channels/http_sms/query.py);
        only when the URL declares one (otherwise `look_up` is None). Never raises for the gateway's sake."""
        assert self.options.query is not None
        with self._lock:
            return look_up_by_reference(self._http(), self.options.query, questions, headers=self.options.headers,
                                        auth=self.options.auth, timeout=self.options.timeout)

    def close(self) -> None:
        """Release the HTTP session; safe to call any number of times (the next send opens a new one)."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # ------------------------------------------------------------------ internals
    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()  # one per channel: keep-alive across the batch and the next
        return self._session

    def _send_one(self, message: Outgoing) -> tuple[SendResult, bool]:
        mid, o = message.message_id, self.options
        if not message.body.strip():
            # Sending only the signature is never what the marketer meant, and gateways refuse it anyway.
            return Refused(mid, True, "empty-body", "the message text is empty; nothing was sent"), False
        text = self.as_sent(message.body)
        fields = {o.to_field: message.to, o.text_field: text, **o.extra}
        if o.sender:
            fields[o.from_field] = o.sender
        if o.ref_field:
            fields[o.ref_field] = str(mid)
        # No redirects: requests would turn a redirected POST into a GET without the message.
        # The same key on every try of one message (IETF draft-ietf-httpapi-idempotency-key-header), as the
        # Twilio channel sends it: a gateway that honours it drops the resend of a message whose answer was lost.
        headers = {**o.headers, "Idempotency-Key": message.idempotency_key} if message.idempotency_key else o.headers
        request: dict[str, Any] = {"headers": headers, "timeout": o.timeout, "auth": o.auth,
                                   "allow_redirects": False}
        if o.method == "GET":
            request["params"] = fields
        elif o.body == "form":
            request["data"] = fields
        else:
            request["json"] = _nest(fields)
        try:
            response = self._http().request(o.method, o.endpoint, **request)
        except requests.Timeout as exc:
            if never_connected(exc):
                reason = f"could not connect to {o.endpoint} within {o.timeout:g}s; not sent"
                return Refused(mid, False, "timeout", reason), True
            reason = (f"{o.endpoint} did not answer within {o.timeout:g}s; "
                      "the gateway may or may not have accepted the message")
            return Refused(mid, False, "timeout", reason, outcome_unknown=True), True
        except requests.RequestException as exc:
            reason = f"{o.endpoint}: {type(exc).__name__}: {exc}"
            if never_connected(exc):
                return Refused(mid, False, "connection-error", reason + "; not sent"), True
            return Refused(mid, False, "connection-error", reason, outcome_unknown=True), True
        return self._read(mid, response, segments=count_sms(text).segments)

    def _read(self, mid: int, response: requests.Response, *, segments: int) -> tuple[SendResult, bool]:
        o, status = self.options, response.status_code
        payload = _payload(response)
        code = _text(_dig(payload, o.error_code_field)) if o.error_code_field else None
        reason = (_text(_dig(payload, o.error_field)) if o.error_field else None) or _snippet(response)
        if status == 429 or status >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            return Refused(mid, False, code or str(status), reason, retry_after=retry_after,
                           throttled=status == 429), status == 429
        if status in (401, 403):
            return Refused(mid, False, code or str(status),
                           f"{reason} (the gateway refused Herald's credentials; check auth_value in the URL)"), True
        if 300 <= status < 400:
            moved = response.headers.get("Location", "")
            return Refused(mid, False, code or str(status),
                           f"{reason} (the gateway redirects to {moved or 'elsewhere'}; put the new address in "
                           "[channels.sms] url)"), True
        if not 200 <= status < 300:
            return Refused(mid, code not in o.transient_codes, code or str(status), reason), False
        if o.success_field:
            verdict = _text(_dig(payload, o.success_field))
            if verdict is None or verdict not in o.success_values:
                code = code or verdict or "no-" + o.success_field
                if payload is None:
                    reason = f"the gateway's answer is not JSON or a form: {_snippet(response)}"
                return Refused(mid, code not in o.transient_codes, code, reason), False
        provider_id = (_text(_dig(payload, o.id_field)) if o.id_field else None) or f"herald-{mid}"
        return Accepted(mid, provider_id=provider_id, segments=segments), False


# ---------------------------------------------------------------------- reading answers
def _nest(fields: Mapping[str, str]) -> dict[str, Any]:
    """JSON body from field names, a dotted name making nested objects ("msg.to" -> {"msg": {"to": …}})."""
    body: dict[str, Any] = {}
    for name, value in fields.items():
        *parents, last = name.split(".")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return body


def _payload(response: requests.Response) -> Any:
    """The answer as JSON, else as form fields (some carrier gateways answer code=0&msgid=…), else None."""
    try:
        return response.json()
    except ValueError:
        pass
    text = response.text.strip()
    if "=" in text and "<" not in text:
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()} or None
    return None


def _snippet(response: requests.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f"HTTP {response.status_code} {response.reason or ''}".strip() + (f": {text}" if text else "")

