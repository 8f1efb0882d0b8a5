"""SMS through Tencent Cloud SMS (腾讯云短信, API 3.0 version 2021-01-11), its signed HTTP API called with `requests`.

URL: `tencent-sms://SECRET_ID:SECRET_KEY@default?app_id=1400006666&sign_name=腾讯云&region=ap-guangzhou&callback_token=…`
- `app_id`          the SmsSdkAppId of the SMS application; required.
- `sign_name`       the approved signature (签名内容), without 【】; required.
- `region`          X-TC-Region (default ap-guangzhou).
- `callback_token`  the secret the console's callback URLs carry as ?token= (channels/china/shared.py); secret.
- `api_base`        another endpoint than https://sms.tencentcloudapi.com (a proxy, or the test fake).
- `timeout` seconds (default 10), `rate` (default 50/second), `max_length` characters.

Sending (cloud.tencent.com/document/api/382/55981 "SendSms"): one POST per message with the JSON body
{PhoneNumberSet, SmsSdkAppId, SignName, TemplateId, TemplateParamSet, SessionContext} — the template's
parameters in order, {1} first, and Herald's message id as SessionContext — and the headers
X-TC-Action: SendSms, X-TC-Version: 2021-01-11, X-TC-Region, X-TC-Timestamp and Authorization, signed
with TC3-HMAC-SHA256 as "Signature v3" describes (tencentcloud.com/document/product/1084/39391):
CanonicalRequest = "POST\\n/\\n\\n" + "content-type:…\\nhost:…\\n" + "\\ncontent-type;host\\n" + hex(SHA256(body));
StringToSign = "TC3-HMAC-SHA256\\n" + timestamp + "\\n" + date/sms/tc3_request + "\\n" + hex(SHA256(CanonicalRequest));
the key is HMAC-SHA256 chained over "TC3"+SecretKey, the UTC date, "sms" and "tc3_request".
The answer is {"Response": {"SendStatusSet": [{"SerialNo", "Fee", "Code": "Ok", …}]}} — Fee is how many
SMS the message was billed as — or {"Response": {"Error": {"Code", "Message"}}} for the whole request.
Codes (cloud.tencent.com/document/api/382/59177 and /38780 "错误码") are classified in ERROR_CODES.

Callbacks (configured in the console's 回调配置; the same token proves both):
- delivery receipts (tencentcloud.com/document/product/382/43547): a JSON list of {user_receive_time,
  nationcode, mobile, report_status: SUCCESS|FAIL, errmsg, description, sid}, POSTed to
  {base_url}/webhooks/tencent-sms/report?token=…;
- replies (tencentcloud.com/document/api/382/43548): one JSON object {extend, mobile, nationcode, sign,
  text, time}, to {base_url}/webhooks/tencent-sms/inbound?token=….
Both are answered {"result": 0, "errmsg": "OK"}.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

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
    network_refusal,
    not_bound_refusal,
    required,
)
from channels.inbound import InboundSms
from channels.ratelimit import parse_rate
from channels.urls import ChannelUrl, parse_channel_url

SCHEME = "tencent-sms"
PROVIDER = "Tencent Cloud SMS"
API_BASE = "https://sms.tencentcloudapi.com"
API_VERSION = "2021-01-11"
SERVICE = "sms"
CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_REGION = "ap-guangzhou"
DEFAULT_RATE = "50/second"
DEFAULT_TIMEOUT_SECONDS = 10.0
OPTIONS = ("app_id", "sign_name", "region", "callback_token", "api_base", "timeout", "rate", "max_length")
REPORT_PATH = "/webhooks/tencent-sms/report"
INBOUND_PATH = "/webhooks/tencent-sms/inbound"
CALLBACK_ANSWER = {"result": 0, "errmsg": "OK"}

# As in channels/china/aliyun.py: PERMANENT fails the message, TRANSIENT retries it, THROTTLED retries it
# and holds the channel back, STOP retries it and stops the batch (the account, not the recipient).
PERMANENT, TRANSIENT, THROTTLED, STOP = "permanent", "transient", "throttled", "stop"
ERROR_CODES: dict[str, str] = {
    "InvalidParameterValue.IncorrectPhoneNumber": PERMANENT,
    # 手机号在免打扰名单库中,通常是用户退订: the recipient opted out with the operator or the platform.
    "FailedOperation.PhoneNumberInBlacklist": PERMANENT,
    "FailedOperation.SignatureIncorrectOrUnapproved": PERMANENT,
    "FailedOperation.TemplateIncorrectOrUnapproved": PERMANENT,
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": PERMANENT,
    "FailedOperation.ContainSensitiveWord": PERMANENT,
    "InvalidParameterValue.TemplateParameterFormatError": PERMANENT,
    "InvalidParameterValue.TemplateParameterLengthLimit": PERMANENT,
    "InvalidParameterValue.ContentLengthLimit": PERMANENT,
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": PERMANENT,
    "UnsupportedOperation.UnsupportedRegion": PERMANENT,
    # One recipient's frequency limits: later is fine, and nobody else is affected.
    "LimitExceeded.PhoneNumberThirtySecondLimit": TRANSIENT,
    "LimitExceeded.PhoneNumberOneHourLimit": TRANSIENT,
    "LimitExceeded.PhoneNumberDailyLimit": TRANSIENT,
    "LimitExceeded.PhoneNumberSameContentDailyLimit": TRANSIENT,
    "LimitExceeded.DeliveryFrequencyLimit": TRANSIENT,
    "FailedOperation.MarketingSendTimeConstraint": TRANSIENT,  # marketing SMS only 08:00-22:00 Beijing time
    "LimitExceeded.AppDailyLimit": STOP,
    "LimitExceeded.DailyLimit": STOP,
    "LimitExceeded.AppGlobalDailyLimit": STOP,
    "LimitExceeded.AppMainlandChinaDailyLimit": STOP,
    "FailedOperation.InsufficientBalanceInSmsPackage": STOP,
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": STOP,
    "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny": STOP,
    "AuthFailure.SignatureFailure": STOP,
    "AuthFailure.SignatureExpire": STOP,  # this machine's clock is off by more than five minutes
    "AuthFailure.SecretIdNotFound": STOP,
    "AuthFailure.InvalidSecretId": STOP,
    "AuthFailure.UnauthorizedOperation": STOP,
    "RequestLimitExceeded": THROTTLED,
    "InternalError": TRANSIENT,
    "InternalError.Timeout": TRANSIENT,
}
CONSENT_EFFECTS = {"FailedOperation.PhoneNumberInBlacklist": "unsubscribed",
                   "InvalidParameterValue.IncorrectPhoneNumber": "bounced"}


def classify(code: str, http_status: int) -> str:
    """The table first; then by the code's family (TencentCloud API 3.0 公共错误码), then the HTTP status."""
    if code in ERROR_CODES:
        return ERROR_CODES[code]
    family = code.split(".", 1)[0]
    if family == "RequestLimitExceeded":
        return THROTTLED
    if family == "AuthFailure":
        return STOP
    if family in ("InternalError", "LimitExceeded") or http_status >= 500:
        return TRANSIENT
    return PERMANENT


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_authorization(*, secret_id: str, secret_key: str, host: str, body: bytes, timestamp: int,
                      content_type: str = CONTENT_TYPE, service: str = SERVICE) -> str:
    """The Authorization header of a TC3-HMAC-SHA256 POST to `host` with `body`, signing content-type and host."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_request = "\n".join(["POST", "/", "", f"content-type:{content_type}\nhost:{host}\n",
                                   "content-type;host", hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                                hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


def template_param_set(params: Mapping[str, str]) -> list[str]:
    """TemplateParamSet: the values for {1}, {2}, … in that order (names that are numbers are sorted as numbers)."""
    if all(name.isdigit() for name in params):
        return [params[name] for name in sorted(params, key=int)]
    return list(params.values())


@dataclass(frozen=True)
class TencentOptions:
    secret_id: str
    secret_key: str
    app_id: str
    sign_name: str
    region: str
    endpoint: str
    callback_token: str
    timeout: float
    rate: str
    max_length: int | None


def from_url(url: str, *, from_address: str = "") -> TencentSmsChannel:
    """Open a Tencent Cloud SMS channel (no request is made yet). Raises ChannelConfigError naming the fix.
    `from_address` is not used: the platform sends under the signature."""
    parsed, options = _parse(url)
    return TencentSmsChannel(options, description=parsed.describe())


def _parse(url: str) -> tuple[ChannelUrl, TencentOptions]:
    parsed = parse_channel_url(url, scheme=SCHEME, options=OPTIONS)
    shown, q = parsed.describe(), parsed.query
    if not parsed.username or not parsed.password:
        raise ChannelConfigError(f'channel URL "{shown}" lacks the SecretId or SecretKey; write '
                                 "tencent-sms://SECRET_ID:SECRET_KEY@default?app_id=…&sign_name=…")
    if not q.get("app_id", "").strip().isdigit():
        raise ChannelConfigError(f'channel URL "{shown}" needs app_id=, the SmsSdkAppId of the SMS application '
                                 "(a number such as 1400006666, on the console's 应用管理 page)")
    if not q.get("sign_name", "").strip():
        raise ChannelConfigError(f'channel URL "{shown}" has no sign_name; add the approved signature without 【】, '
                                 "e.g. sign_name=腾讯云 (percent-encoded: sign_name=%E8%85%BE%E8%AE%AF%E4%BA%91)")
    if parsed.host != "default" and not q.get("api_base"):
        raise ChannelConfigError(f'channel URL "{shown}" has host "{parsed.host}"; write '
                                 "tencent-sms://ID:KEY@default for Tencent Cloud itself, or add "
                                 f"api_base=https://{parsed.host} for another endpoint")
    rate = q.get("rate", DEFAULT_RATE)
    parse_rate(rate, where=f'channel URL "{shown}": rate')
    return parsed, TencentOptions(
        secret_id=parsed.username, secret_key=parsed.password, app_id=q["app_id"].strip(),
        sign_name=q["sign_name"].strip(), region=q.get("region") or DEFAULT_REGION,
        endpoint=api_endpoint(q.get("api_base", ""), API_BASE, shown), callback_token=q.get("callback_token", ""),
        timeout=parsed.number("timeout", DEFAULT_TIMEOUT_SECONDS), rate=rate, max_length=parsed.length_limit(None))


class TencentSmsChannel(TemplateSmsChannel):
    name = SCHEME
    dry_run = False
    reports_each_result = True  # one request per message (channels/base.py)
    look_up = None  # PullSmsSendStatusByPhoneNumber exists, but the reconciler does not ask it yet

    options: TencentOptions

    def _send_one(self, message: Outgoing) -> tuple[SendResult, bool]:
        o, mid = self.options, message.message_id
        if not message.template_code:
            return not_bound_refusal(mid, PROVIDER), False
        body = json.dumps({
            "PhoneNumberSet": [message.to], "SmsSdkAppId": o.app_id, "SignName": o.sign_name,
            "TemplateId": message.template_code, "TemplateParamSet": template_param_set(message.template_params),
            "SessionContext": str(mid),
        }, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(time.time())  # the wall clock: the service refuses a signature five minutes off its own
        headers = {
            "Content-Type": CONTENT_TYPE, "X-TC-Action": "SendSms", "X-TC-Version": API_VERSION,
            "X-TC-Region": o.region, "X-TC-Timestamp": str(timestamp),
            "Authorization": tc3_authorization(secret_id=o.secret_id, secret_key=o.secret_key,
                                               host=urlsplit(o.endpoint).netloc, body=body, timestamp=timestamp),
        }
        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.post(o.endpoint + "/", data=body, headers=headers, timeout=o.timeout,
                                          allow_redirects=False)
        except requests.RequestException as exc:
            return network_refusal(mid, exc, endpoint=o.endpoint, timeout=o.timeout, provider=PROVIDER), True
        return self._read(mid, response)

    def _read(self, mid: int, response: requests.Response) -> tuple[SendResult, bool]:
        try:
            payload = response.json().get("Response") or {}
        except (ValueError, AttributeError):
            payload = {}
        error = payload.get("Error") if isinstance(payload, dict) else None
        statuses = payload.get("SendStatusSet") if isinstance(payload, dict) else None
        if response.status_code == 200 and not error and isinstance(statuses, list) and statuses:
            status = statuses[0] if isinstance(statuses[0], dict) else {}
            code = str(status.get("Code") or "")
            if code == "Ok":
                fee = status.get("Fee")
                return Accepted(mid, provider_id=str(status.get("SerialNo") or f"herald-{mid}"),
                                segments=fee if isinstance(fee, int) and fee > 0 else None), False
            return self._refusal(mid, code, str(status.get("Message") or code), response.status_code)
        if isinstance(error, dict) and error.get("Code"):
            return self._refusal(mid, str(error["Code"]), str(error.get("Message") or error["Code"]),
                                 response.status_code)
        return self._refusal(mid, str(response.status_code),
                             f"HTTP {response.status_code} {response.reason or ''}".strip(), response.status_code)

    def _refusal(self, mid: int, code: str, reason: str, http_status: int) -> tuple[Refused, bool]:
        outcome = classify(code, http_status)
        return Refused(mid, outcome == PERMANENT, code, reason, consent=CONSENT_EFFECTS.get(code),
                       throttled=outcome == THROTTLED), outcome in (THROTTLED, STOP)


# ---------------------------------------------------------------------- callbacks
def parse_tencent_report(*, url: str, payload: object, channel_url: str) -> list[ChannelEvent]:
    """Check a receipt push's token and turn each receipt into a ChannelEvent (SUCCESS: delivered; FAIL:
    failed with errmsg). Raises WebhookRejected: 403 for a missing or wrong token, 400 for a body that is
    not a list of receipts, a receipt without sid or with another report_status. Taken whole or not at all."""
    options = _parse(channel_url)[1]
    what = "delivery receipt"
    check_callback_token(url, options.callback_token, provider=PROVIDER, what=what, path=REPORT_PATH)
    events = []
    for n, item in enumerate(list_of_objects(payload, provider=PROVIDER, what=what), start=1):
        status = str(item.get("report_status") or "").strip().upper()
        if status not in ("SUCCESS", "FAIL"):
            raise WebhookRejected(f'{PROVIDER} {what} {n} has report_status "{item.get("report_status")}"; Herald '
                                  "knows SUCCESS and FAIL; refused", 400)
        sid = required(item, "sid", provider=PROVIDER, what=what, n=n)
        errmsg = str(item.get("errmsg") or "").strip()
        delivered = status == "SUCCESS"
        events.append(ChannelEvent(
            status="delivered" if delivered else "failed", provider_id=sid,
            error_code=None if delivered else (errmsg or "FAIL"),
            error_reason=None if delivered else (str(item.get("description") or "").strip() or None),
            provider_status=errmsg or status, occurred_at=beijing_time(item.get("user_receive_time"))))
    return events


def parse_tencent_inbound(*, url: str, payload: object, channel_url: str) -> list[InboundSms]:
    """Check a reply push's token and read the reply (one object, or a list of them). Raises WebhookRejected:
    403 for a missing or wrong token, 400 for a reply without mobile. Taken whole or not at all.

    Tencent gives a reply no id of its own, so its id is made of the number, the time and the text: a
    push repeated after a lost answer is then the same reply, stored once (campaigns.record_reply)."""
    options = _parse(channel_url)[1]
    what = "incoming SMS"
    check_callback_token(url, options.callback_token, provider=PROVIDER, what=what, path=INBOUND_PATH)
    replies = []
    for n, item in enumerate(list_of_objects(payload, provider=PROVIDER, what=what), start=1):
        mobile = required(item, "mobile", provider=PROVIDER, what=what, n=n)
        nationcode = str(item.get("nationcode") or "86").strip().lstrip("+")
        text = str(item.get("text") or "")
        sent = item.get("time")
        received_at = datetime.fromtimestamp(int(sent), UTC) if str(sent or "").isdigit() else None
        digest = hashlib.sha256(f"{nationcode}{mobile}|{sent}|{text}".encode()).hexdigest()[:32]
        replies.append(InboundSms(provider=SCHEME, provider_id=f"{sent}-{digest}", from_number=f"+{nationcode}{mobile}",
                                  to_number=str(item.get("extend") or "").strip(), body=text, received_at=received_at))
    return replies
