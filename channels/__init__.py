"""Channels: one adapter per provider behind one small interface (channels/base.py), chosen by URL.

The registry is a plain dict: adding a provider is one module with `from_url` and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from channels import http_sms, https_email, log, smtp, twilio
from channels.base import (
    SIGNATURE_PLACEHOLDER,
    Accepted,
    Channel,
    ChannelConfigError,
    ChannelEvent,
    Outgoing,
    Refused,
    ResultListener,
    SendResult,
    SentQuestion,
    Sighting,
    WebhookRejected,
    can_look_up,
    reports_each_result,
    text_as_sent,
)
from channels.china import aliyun, tencent
from channels.ratelimit import RateLimiter
from channels.segments import SmsSize, count_sms
from channels.twilio import twilio_auth_token
from channels.twilio_webhooks import parse_twilio_webhook
from channels.urls import looks_secret, mask_url

REGISTRY: dict[str, Callable[..., Channel]] = {
    aliyun.SCHEME: aliyun.from_url,
    http_sms.SCHEME: http_sms.from_url,
    https_email.SCHEME: https_email.from_url,
    log.SCHEME: log.from_url,
    smtp.SCHEME: smtp.from_url,
    tencent.SCHEME: tencent.from_url,
    twilio.SCHEME: twilio.from_url,
}


def open_channel(url: str, *, from_address: str = "", setting: str = "") -> Channel:
    """The channel a URL names, e.g. "twilio://SID:TOKEN@default?from=+15551234567"; nothing is sent yet.

    `from_address` is the sender to use when the URL has no `from=`. `setting` ("email" or "sms")
    names the config entry the URL came from, so an error can say exactly where to fix it.
    Raises ChannelConfigError naming the URL (secrets masked) and the fix.
    """
    scheme = urlsplit(url).scheme
    where = (f"config.toml [channels.{setting}] url or HERALD_CHANNELS_{setting.upper()}_URL" if setting
             else "config.toml [channels.email|sms] url or HERALD_CHANNELS_EMAIL_URL / HERALD_CHANNELS_SMS_URL")
    opener = REGISTRY.get(scheme)
    if opener is None and not scheme:
        raise ChannelConfigError(
            f"channel URL has no scheme; write it as log://var/outbox, smtp://host:587?starttls=1 or "
            f"twilio://SID:TOKEN@default?from=+15551234567 — check {where}"
        )
    if opener is None:
        shown = f"{scheme}://…"  # the rest may hold a password
        raise ChannelConfigError(
            f'channel URL "{shown}" has unknown scheme "{scheme}"; known schemes: {", ".join(sorted(REGISTRY))} '
            f"— check {where}"
        )
    try:
        return opener(url, from_address=from_address)
    except ChannelConfigError as exc:
        raise ChannelConfigError(f"{exc} — check {where}") from None


__all__ = [
    "Accepted",
    "Channel",
    "ChannelConfigError",
    "ChannelEvent",
    "Outgoing",
    "REGISTRY",
    "SIGNATURE_PLACEHOLDER",
    "RateLimiter",
    "Refused",
    "ResultListener",
    "SendResult",
    "SentQuestion",
    "Sighting",
    "SmsSize",
    "WebhookRejected",
    "can_look_up",
    "count_sms",
    "looks_secret",
    "mask_url",
    "open_channel",
    "parse_twilio_webhook",
    "reports_each_result",
    "text_as_sent",
    "twilio_auth_token",
]
