"""SMS through Alibaba Cloud SMS (阿里云短信服务, dysmsapi 2017-05-25), its signed RPC API called with `requests`.

URL: `aliyun-sms://ACCESS_KEY_ID:ACCESS_KEY_SECRET@default?sign_name=阿里云&region=cn-hangzhou&callback_token=…`
- `sign_name`       the approved signature (签名名称), without 【】; required.
- `region`          RegionId (default cn-hangzhou).
- `callback_token`  the secret the console's callback URLs carry as ?token= (channels/china/shared.py); secret.
- `api_base`        another endpoint than https://dysmsapi.aliyuncs.com (a proxy, or the test fake).
- `timeout` seconds (default 10), `rate` (default 50/second), `max_length` characters.

Sending (help.aliyun.com "SendSms - 发送短信"): one POST per message of the common RPC parameters
(AccessKeyId, Action=SendSms, Format=JSON, RegionId, SignatureMethod=HMAC-SHA1, SignatureNonce,
SignatureVersion=1.0, Timestamp, Version) and PhoneNumbers, SignName, TemplateCode, TemplateParam (a
JSON object) and OutId (Herald's message id, echoed in the receipt). It is signed as Alibaba Cloud's
"Signature mechanism" for RPC APIs says (help.aliyun.com/document_detail/315526, and the SMS page
"signature method", alibabacloud.com/help/en/sms/signature-method): the parameters sorted by name,
each name and value percent-encoded per RFC 3986 (space %20, * %2A, ~ kept), joined into the
canonicalised query; StringToSign = "POST&%2F&" + percent-encode(that);
Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
The answer is JSON: {"Code": "OK", "BizId": …} when taken, else a Code from the API error list
(help.aliyun.com/document_detail/101346 "API错误码"), classified in ERROR_CODES.

Callbacks (HTTP 批量推送, configured in the console; the same token proves both):
- delivery receipts (SmsReport, help.aliyun.com/zh/sms/developer-reference/smsreport-2): a JSON list
  of {phone_number, send_time, report_time, success, err_code, err_msg, sms_size, biz_id, out_id},
  POSTed to {base_url}/webhooks/aliyun-sms/report?token=…;
- replies (SmsUp, help.aliyun.com/zh/sms/developer-reference/smsup-http): a JSON list of
  {phone_number, content, send_time, dest_code, sequence_id}, to {base_url}/webhooks/aliyun-sms/inbound?token=….
Both are answered {"code": 0, "msg": "接收成功"}; anything but a 200 is pushed again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import requests

from channels.base import (
    Accepted,
    ChannelConfigError,
    ChannelEvent,
    Outgoing,
    Refused,
    SendResult,
    WebhookRejected,
)
from channels.china.shared import (
    TemplateSmsChannel,
    api_endpoint,
    beijing_time,
    check_callback_token,
    list_of_objects,
    mainland_number,
    network_refusal,
    not_bound_refusal,
    required,
)
from channels.inbound import InboundSms
from channels.ratelimit import parse_rate
from channels.urls import ChannelUrl, parse_channel_url

SCHEME = "aliyun-sms"
PROVIDER = "Alibaba Cloud SMS"
API_BASE = "https://dysmsapi.aliyuncs.com"
API_VERSION = "2017-05-25"
DEFAULT_REGION = "cn-hangzhou"
DEFAULT_RATE = "50/second"
DEFAULT_TIMEOUT_SECONDS = 10.0
OPTIONS = ("sign_name", "region", "callback_token", "api_base", "timeout", "rate", "max_length")
REPORT_PATH = "/webhooks/aliyun-sms/report"
INBOUND_PATH = "/webhooks/aliyun-sms/inbound"
CALLBACK_ANSWER = {"code": 0, "msg": "接收成功"}

# What a refusal means for Herald: PERMANENT fails the message; TRANSIENT retries it later; THROTTLED
# retries it later without counting an attempt and holds the channel back; STOP is transient and
# also stops the batch, because every other message would meet the same answer (the account's
# quota, balance or credentials — the operator's to fix, as Twilio's 20003).
PERMANENT, TRANSIENT, THROTTLED, STOP = "permanent", "transient", "throttled", "stop"
# help.aliyun.com "API错误码" (document_detail/101346) and the common RPC errors (signature, throttling).
ERROR_CODES: dict[str, str] = {
    "isv.MOBILE_NUMBER_ILLEGAL": PERMANENT,  # not a mobile number: also says the number cannot receive
    "isv.MOBILE_COUNT_OVER_LIMIT": PERMANENT,
    "isv.SMS_TEMPLATE_ILLEGAL": PERMANENT,  # the template code is unknown or not approved
    "isv.SMS_SIGNATURE_ILLEGAL": PERMANENT,
    "isv.SMS_SIGN_ILLEGAL": PERMANENT,
    "isv.SIGN_STATE_ILLEGAL": PERMANENT,
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": PERMANENT,
    "isv.TEMPLATE_MISSING_PARAMETERS": PERMANENT,
    "isv.TEMPLATE_PARAMS_ILLEGAL": PERMANENT,
    "isv.INVALID_JSON_PARAM": PERMANENT,
    "isv.INVALID_PARAMETERS": PERMANENT,
    "isv.PARAM_LENGTH_LIMIT": PERMANENT,
    "isv.SMS_CONTENT_ILLEGAL": PERMANENT,
    "isv.BLACK_KEY_CONTROL_LIMIT": PERMANENT,
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": PERMANENT,
    # 触发业务流控: this recipient had their share (per number per minute / hour / day); later is fine,
    # and the other recipients are not affected, so it neither throttles nor stops the channel.
    "isv.BUSINESS_LIMIT_CONTROL": TRANSIENT,
    "isv.DAY_LIMIT_CONTROL": STOP,
    "isv.MONTH_LIMIT_CONTROL": STOP,
    "isv.AMOUNT_NOT_ENOUGH": STOP,
    "isv.OUT_OF_SERVICE": STOP,  # 业务停机: the balance is exhausted
    "isv.ACCOUNT_NOT_EXISTS": STOP,
    "isv.ACCOUNT_ABNORMAL": STOP,
    "isv.PRODUCT_UN_SUBSCRIPT": STOP,
    "isv.PRODUCT_UNSUBSCRIBE": STOP,
    "isp.RAM_PERMISSION_DENY": STOP,
    "isp.SYSTEM_ERROR": TRANSIENT,
    "SignatureDoesNotMatch": STOP,
    "IncompleteSignature": STOP,
    "InvalidAccessKeyId.NotFound": STOP,
    "InvalidAccessKeyId.Inactive": STOP,
    "InvalidTimeStamp.Expired": STOP,  # this machine's clock is off by more than 15 minutes
    "SignatureNonceUsed": TRANSIENT,
    "Throttling": THROTTLED,
    "Throttling.User": THROTTLED,
    "Throttling.Api": THROTTLED,
    "ServiceUnavailable": TRANSIENT,
}
CONSENT_EFFECTS = {"isv.MOBILE_NUMBER_ILLEGAL": "bounced"}


def classify(code: str, http_status: int) -> str:
    """The table first; then isp.* (the platform's own fault) and 5xx transient, anything else permanent."""
    if code in ERROR_CODES:
        return ERROR_CODES[code]
    if code.startswith("isp.") or http_status >= 500:
        return TRANSIENT
    return PERMANENT


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Alibaba Cloud signs: unreserved characters kept, space %20, * %2A."""
    return quote(value, safe="~")


def rpc_signature(params: Mapping[str, str], secret: str, *, method: str = "POST") -> str:
    """The Signature of an RPC request (everything in `params` but Signature itself)."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class AliyunOptions:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    region: str
    endpoint: str
    callback_token: str
    timeout: float
    rate: str
    max_length: int | None


def from_url(url: str, *, from_address: str = "") -> AliyunSmsChannel:
    """Open an Alibaba Cloud SMS channel (no request is made yet). Raises ChannelConfigError naming the fix.
    `from_address` is not used: the platform sends under the signature, from its own numbers."""
    parsed, options = _parse(url)
    return AliyunSmsChannel(options, description=parsed.describe())


def _parse(url: str) -> tuple[ChannelUrl, AliyunOptions]:
    parsed = parse_channel_url(url, scheme=SCHEME, options=OPTIONS)
    shown, q = parsed.describe(), parsed.query
    if not parsed.username or not parsed.password:
        raise ChannelConfigError(f'channel URL "{shown}" lacks the AccessKey ID or secret; write '
                                 "aliyun-sms://ACCESS_KEY_ID:ACCESS_KEY_SECRET@default?sign_name=…")
    if not q.get("sign_name", "").strip():
        raise ChannelConfigError(f'channel URL "{shown}" has no sign_name; add the approved signature without 【】, '
                                 "e.g. sign_name=阿里云 (percent-encoded: sign_name=%E9%98%BF%E9%87%8C%E4%BA%91)")
    if parsed.host != "default" and not q.get("api_base"):
        raise ChannelConfigError(f'channel URL "{shown}" has host "{parsed.host}"; write '
                                 "aliyun-sms://ID:SECRET@default for Alibaba Cloud itself, or add "
                                 f"api_base=https://{parsed.host} for another endpoint")
    rate = q.get("rate", DEFAULT_RATE)
    parse_rate(rate, where=f'channel URL "{shown}": rate')
    return parsed, AliyunOptions(
        access_key_id=parsed.username, access_key_secret=parsed.password, sign_name=q["sign_name"].strip(),
        region=q.get("region") or DEFAULT_REGION, endpoint=api_endpoint(q.get("api_base", ""), API_BASE, shown),
        callback_token=q.get("callback_token", ""), timeout=parsed.number("timeout", DEFAULT_TIMEOUT_SECONDS),
        rate=rate, max_length=parsed.length_limit(None))


class AliyunSmsChannel(TemplateSmsChannel):
    name = SCHEME
    dry_run = False
    reports_each_result = True  # one request per message (channels/base.py)
    look_up = None  # QuerySendDetails exists, but the reconciler's questions are not asked of it yet

    options: AliyunOptions

    def _send_one(self, message: Outgoing) -> tuple[SendResult, bool]:
        o, mid = self.options, message.message_id
        if not message.template_code:
            return not_bound_refusal(mid, PROVIDER), False
        params = {
            "AccessKeyId": o.access_key_id, "Action": "SendSms", "Format": "JSON", "RegionId": o.region,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
            # The wall clock, not Herald's Clock: the service refuses a Timestamp 15 minutes off its own.
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": API_VERSION,
            "PhoneNumbers": _phone_number(message.to), "SignName": o.sign_name, "TemplateCode": message.template_code,
            "OutId": str(mid),
        }
        if message.template_params:
            params["TemplateParam"] = json.dumps(dict(message.template_params), ensure_ascii=False,
                                                 separators=(",", ":"))
        params["Signature"] = rpc_signature(params, o.access_key_secret)
        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.post(o.endpoint + "/", data=params, timeout=o.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return network_refusal(mid, exc, endpoint=o.endpoint, timeout=o.timeout, provider=PROVIDER), True
        return self._read(mid, response)

    def _read(self, mid: int, response: requests.Response) -> tuple[SendResult, bool]:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        code = str(payload.get("Code") or "")
        if response.status_code == 200 and code == "OK":
            return Accepted(mid, provider_id=str(payload.get("BizId") or f"herald-{mid}")), False
        code = code or str(response.status_code)
        reason = str(payload.get("Message") or f"HTTP {response.status_code} {response.reason or ''}".strip())
        outcome = classify(code, response.status_code)
        refused = Refused(mid, outcome == PERMANENT, code, reason, consent=CONSENT_EFFECTS.get(code),
                          throttled=outcome == THROTTLED)
        return refused, outcome in (THROTTLED, STOP)


def _phone_number(to: str) -> str:
    """PhoneNumbers as SendSms takes them: a mainland mobile as its 11 digits, others as country code and
    number without "+" (国际/港澳台消息:国际区号+号码)."""
    return to.removeprefix("+86") if to.startswith("+86") else to.removeprefix("+")


# ---------------------------------------------------------------------- callbacks
def parse_aliyun_report(*, url: str, payload: object, channel_url: str) -> list[ChannelEvent]:
    """Check a SmsReport push's token and turn each receipt into a ChannelEvent (success true: delivered;
    false: failed with err_code). Raises WebhookRejected: 403 for a missing or wrong token, 400 for a
    body that is not a list of receipts or a receipt Herald cannot read. Taken whole or not at all."""
    options = _parse(channel_url)[1]
    what = "delivery receipt"
    check_callback_token(url, options.callback_token, provider=PROVIDER, what=what, path=REPORT_PATH)
    events = []
    for n, item in enumerate(list_of_objects(payload, provider=PROVIDER, what=what), start=1):
        success = str(item.get("success")).strip().lower()
        if success not in ("true", "false"):
            raise _rejected(f'{what} {n} has success={item.get("success")!r}; Herald knows true and false')
        delivered = success == "true"
        out_id = str(item.get("out_id") or "").strip()
        biz_id = str(item.get("biz_id") or "").strip() or None
        if biz_id is None and not out_id.isdigit():
            raise _rejected(f"{what} {n} has neither biz_id nor out_id")
        err_code = str(item.get("err_code") or "").strip()
        events.append(ChannelEvent(
            status="delivered" if delivered else "failed", provider_id=biz_id,
            message_id=int(out_id) if out_id.isdigit() else None,
            error_code=None if delivered else (err_code or "failed"),
            error_reason=None if delivered else (str(item.get("err_msg") or "").strip() or None),
            provider_status=err_code or ("DELIVERED" if delivered else "failed"),
            # sms_size: how many SMS the text was billed as (短信长度, counted by 短信发送规则).
            segments=int(item["sms_size"]) if str(item.get("sms_size") or "").isdigit() else None,
            occurred_at=beijing_time(item.get("report_time"))))
    return events


def parse_aliyun_inbound(*, url: str, payload: object, channel_url: str) -> list[InboundSms]:
    """Check a SmsUp push's token and read each reply. Raises WebhookRejected: 403 for a missing or wrong
    token, 400 for a reply without phone_number or sequence_id. Taken whole or not at all."""
    options = _parse(channel_url)[1]
    what = "incoming SMS"
    check_callback_token(url, options.callback_token, provider=PROVIDER, what=what, path=INBOUND_PATH)
    replies = []
    for n, item in enumerate(list_of_objects(payload, provider=PROVIDER, what=what), start=1):
        replies.append(InboundSms(
            provider=SCHEME, provider_id=required(item, "sequence_id", provider=PROVIDER, what=what, n=n),
            from_number=mainland_number(required(item, "phone_number", provider=PROVIDER, what=what, n=n)),
            to_number=str(item.get("dest_code") or "").strip(), body=str(item.get("content") or ""),
            received_at=beijing_time(item.get("send_time"))))
    return replies


def _rejected(text: str) -> WebhookRejected:
    return WebhookRejected(f"{PROVIDER} {text}; refused", 400)
