"""The signature check's one-HMAC path accepts no more and no less than Twilio's RequestValidator."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from channels import WebhookRejected, parse_twilio_webhook
from tests.channels.test_twilio_webhook import TOKEN, callback


def check(url: str, signed_url: str, *, token: str = TOKEN, header: str | None = None, **headers: str) -> None:
    form = callback("delivered")
    signature = RequestValidator(token).compute_signature(signed_url, form) if header is None else header
    parse_twilio_webhook(url=url, form=form, headers={"X-Twilio-Signature": signature, **headers}, auth_token=TOKEN)


@pytest.mark.parametrize(("url", "signed_url"), [
    ("https://herald.example/webhooks/twilio/status/42", "https://herald.example/webhooks/twilio/status/42"),
    # Twilio sometimes signs with the default port and sometimes without; both are the same URL.
    ("https://herald.example/webhooks/twilio/status/42", "https://herald.example:443/webhooks/twilio/status/42"),
    ("https://herald.example:443/webhooks/twilio/status/42", "https://herald.example/webhooks/twilio/status/42"),
    ("http://herald.example:8080/webhooks/twilio/status/42", "http://herald.example:8080/webhooks/twilio/status/42"),
])
def test_the_url_twilio_signed_is_accepted_with_or_without_its_default_port(url, signed_url):
    check(url, signed_url)


@pytest.mark.parametrize(("signed_url", "token", "header"), [
    ("https://herald.example/webhooks/twilio/status/43", TOKEN, None),  # another message's URL
    ("https://herald.example/webhooks/twilio/status/42", "another-token", None),
    ("https://herald.example/webhooks/twilio/status/42", TOKEN, "not base64 at all"),
    ("https://herald.example/webhooks/twilio/status/42", TOKEN, "ünïcödé"),  # not ASCII: refused, not a crash
])
def test_anything_else_is_403(signed_url, token, header):
    with pytest.raises(WebhookRejected) as refused:
        check("https://herald.example/webhooks/twilio/status/42", signed_url, token=token, header=header)
    assert refused.value.http_status == 403


def test_sha256_signatures_take_the_same_path():
    form = callback("delivered")
    url = "https://herald.example/webhooks/twilio/status/42"
    signature = RequestValidator(TOKEN).compute_signature(url, form, "HMAC_SHA256")
    settings = {"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    parse_twilio_webhook(url=url, form=form, headers={"X-Twilio-Signature": signature, **settings}, auth_token=TOKEN)
    with pytest.raises(WebhookRejected):  # a SHA1 signature does not pass as SHA256
        parse_twilio_webhook(url=url, form=form, headers={"X-Twilio-Signature": RequestValidator(TOKEN)
                                                          .compute_signature(url, form), **settings},
                             auth_token=TOKEN)
