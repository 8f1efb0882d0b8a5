"""What Alibaba Cloud SMS and Tencent Cloud SMS have in common, and Herald's side of it.

Both Chinese platforms send only a pre-registered template (模板) under a pre-registered signature
(签名): a message is a template code and its parameters, never free text. campaigns binds a Herald
template to the provider's code and renders the parameters (Outgoing.template_code and
template_params); Outgoing.body carries the registered text with the parameters filled in, which is
what the recipient reads and what the estimate counts.

The operator puts the signature in front as 【签名】 and bills the signed text: every character counts
one, 70 fit in one SMS and 67 per part of a longer one (Alibaba Cloud 短信发送规则 / 计费说明; Tencent
Cloud 国内短信内容长度计算规则). The 【】 brackets are outside GSM-7, so channels.count_sms counts the
signed text as UCS-2, 70 / 67 — the same numbers, emoji aside.

Neither platform signs its delivery receipts (状态报告) or incoming replies (上行): the console takes a
callback URL, and nothing else. Herald therefore asks for a `callback_token=` secret in the channel
URL and refuses any callback whose URL does not carry it as `?token=` (compared in constant time).
Their times are Beijing time without a zone ("2017-01-01 00:00:00").
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from channels.base import (
    ChannelConfigError,
    Outgoing,
    Refused,
    ResultListener,
    SendResult,
    WebhookRejected,
    send_each,
)
from channels.unanswered import never_connected

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
# campaigns turns a template into template_params; a message without them was not written for this provider.
NOT_BOUND = "not-bound"


def signed(text: str, sign_name: str) -> str:
    """The text as the recipient's phone shows it and the operator bills it: 【签名】 in front."""
    if not text:
        return text
    return f"【{sign_name}】{text}" if sign_name else text


def not_bound_refusal(message_id: int, provider: str) -> Refused:
    """A message whose template names no provider template code: the platform takes no free text."""
    return Refused(message_id, True, NOT_BOUND,
                   f"{provider} sends only registered templates (模板), and this message's template names no "
                   "provider template code; open the template, enter the code and its parameters, and send again")


def check_callback_token(url: str, token: str, *, provider: str, what: str, path: str) -> None:
    """Refuse (403) a callback whose URL does not carry the channel URL's callback_token as ?token=.

    `path` is the callback's path under {base_url}, for the message that says what to configure.
    """
    if not token:
        raise WebhookRejected(f"{provider} {what} refused: the channel URL has no callback_token; add "
                              "callback_token=<a long random secret> to [channels.sms] url and set the console's "
                              f"callback URL to {{base_url}}{path}?token=<the same secret>", 403)
    given = (parse_qs(urlsplit(url).query).get("token") or [""])[-1]
    if not given:
        raise WebhookRejected(f"{provider} {what} without ?token= in its URL; refused", 403)
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise WebhookRejected(f"{provider} {what} has a token that does not match callback_token in "
                              "[channels.sms] url; refused", 403)


def beijing_time(value: object) -> datetime | None:
    """A platform timestamp ("2017-01-01 00:00:00", Beijing time) as an aware datetime; None if unreadable."""
    try:
        return datetime.strptime(str(value).strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None


def mainland_number(number: str) -> str:
    """A mainland mobile as the platforms write it in callbacks (13812345678) in E.164 (+8613812345678)."""
    number = number.strip()
    digits = number.removeprefix("+86").removeprefix("0086")
    if number.startswith("+") and not number.startswith("+86"):
        return number
    if len(digits) == 11 and digits.startswith("1") and digits.isdigit():
        return "+86" + digits
    return number


def list_of_objects(payload: object, *, provider: str, what: str) -> list[Mapping[str, object]]:
    """A callback body as a list of JSON objects (one object is a list of one); refuses anything else (400)."""
    items = [payload] if isinstance(payload, Mapping) else payload
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise WebhookRejected(f"{provider} {what} is not a JSON list of objects; refused", 400)
    return items


def required(item: Mapping[str, object], key: str, *, provider: str, what: str, n: int) -> str:
    """A field every callback of this kind has; refuses (400) one without it, naming the field."""
    value = item.get(key)
    if value is None or str(value).strip() == "":
        raise WebhookRejected(f'{provider} {what} {n} has no "{key}"; refused', 400)
    return str(value).strip()


def network_refusal(message_id: int, exc: requests.RequestException, *, endpoint: str,
                    timeout: float, provider: str) -> Refused:
    """A transient refusal for a request that failed on the network: not sent when it never connected,
    `outcome_unknown` when it was sent whole and the answer was lost (channels/base.py)."""
    if isinstance(exc, requests.Timeout):
        if never_connected(exc):
            return Refused(message_id, False, "timeout",
                           f"could not connect to {endpoint} within {timeout:g}s; not sent")
        return Refused(message_id, False, "timeout", f"{endpoint} did not answer within {timeout:g}s; "
                       f"{provider} may or may not have accepted the message", outcome_unknown=True)
    reason = f"{endpoint}: {type(exc).__name__}: {exc}"
    if never_connected(exc):
        return Refused(message_id, False, "connection-error", reason + "; not sent")
    return Refused(message_id, False, "connection-error", reason, outcome_unknown=True)


def api_endpoint(api_base: str, default: str, shown: str) -> str:
    """The API's base URL: `default` (the real service), or api_base= (a proxy, or a test fake on loopback)."""
    if not api_base:
        return default
    if urlsplit(api_base).scheme not in ("http", "https"):
        raise ChannelConfigError(f'channel URL "{shown}": api_base must be an http(s):// URL, e.g. api_base={default}')
    return api_base.rstrip("/")


class TemplateSmsChannel:
    """What the template-only platforms' channels share: the session and lock, the description, the text as the
    operator bills it (【签名】 first), one request per message in batch order; a subclass sends one (_send_one)."""

    def __init__(self, options: Any, *, description: str) -> None:
        self.options = options
        self.rate = options.rate
        self.max_length = options.max_length
        self._description = description
        self._session: requests.Session | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return self._description

    def as_sent(self, text: str) -> str:
        """The text as the operator delivers and bills it, 【签名】 first (channels.text_as_sent)."""
        return signed(text, self.options.sign_name)

    def send(self, batch: Sequence[Outgoing], on_result: ResultListener | None = None) -> list[SendResult]:
        """One request per message; one result per message, in batch order; never raises for the provider's sake."""
        with self._lock:
            return send_each(batch, self._send_one, on_result)

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def _send_one(self, message: Outgoing) -> tuple[SendResult, bool]:
        raise NotImplementedError  # each platform's request (aliyun.py, tencent.py)
