"""No credential reaches a page, a log line, an error or the API: every channel's describe() and errors, per scheme.

Channel descriptions are shown on Settings (every role reads it), logged, and kept on each run.
"""

from __future__ import annotations

import pytest

from channels import ChannelConfigError, looks_secret, mask_url, open_channel
from channels.mailbox import open_mailbox

KEY = "SG.k3y-0f-the-acc0unt"
ALIYUN = "aliyun-access-key-s3cret"
AUTH = "APPCODE-s3cret-appcode"
DR = "dr-s3cret-token"
PW = "basic-s3cret-pw"

# (url, secrets that must not show, words that must still show)
DESCRIBED = [
    (f"twilio://AC123:{KEY}@default?from=+15551234567", [KEY], ["AC123", "from=+15551234567"]),
    (f"smtp://mailer:{PW}@mail.example.com:587?starttls=1&from=news@example.com", [PW],
     ["mailer:****@", "from=news@example.com"]),
    (f"https-email://{KEY}@api.sendgrid.com?from=news@example.com", [KEY],
     ["https-email://****@api.sendgrid.com", "from=news@example.com"]),
    (f"http-sms://user:{PW}@sms.example.com/send?auth_value={AUTH}&dr_token={DR}&extra.AccessKeySecret={ALIYUN}"
     f"&extra.AccessKeyId=LTAI5t&extra.template_id=SMS_1234&extra.api_key={KEY}&signature=【Shop】&from=Shop",
     [PW, AUTH, DR, ALIYUN, KEY], ["extra.AccessKeyId=LTAI5t", "extra.template_id=SMS_1234", "signature=【Shop】",
                                   "from=Shop", "extra.AccessKeySecret=****", "auth_value=****"]),
    ("log://var/outbox?from=news@example.com", [], ["log://var/outbox", "from=news@example.com"]),
]


@pytest.mark.parametrize(("url", "secrets", "shown"), DESCRIBED, ids=[u.split(":")[0] for u, _, _ in DESCRIBED])
def test_describe_masks_every_credential_and_keeps_the_rest(url, secrets, shown):
    channel = open_channel(url)
    try:
        text = channel.describe()
    finally:
        channel.close()
    for secret in secrets:
        assert secret not in text
    for words in shown:
        assert words in text


# (url that cannot work, words of the error, secrets it must not show)
REFUSED = [
    # No sender: the error names the URL, which for https-email starts with the API key.
    (f"https-email://{KEY}@api.sendgrid.com", "no sender address", [KEY]),
    (f"https-email://{KEY}@api.sendgrid.com?from=a@example.com&colour=red", 'unknown option "colour"', [KEY]),
    (f"https-email://{KEY}@api.sendgrid.com?from=a@example.com&rate=fast", "is not a rate", [KEY]),
    (f"http-sms://sms.example.com/send?extra.AccessKeySecret={ALIYUN}&method=FETCH", "method='FETCH'", [ALIYUN]),
    (f"http-sms://sms.example.com/send?extra.AccessKeySecret={ALIYUN}&tls=maybe", "not a yes/no value", [ALIYUN]),
    (f"http-sms://u:{PW}@sms.example.com/send?auth_value={AUTH}&colour=red", 'unknown option "colour"', [PW, AUTH]),
    (f"twilio://AC1:{KEY}@default?from=+1555&rate=fast", "is not a rate", [KEY]),
    (f"smtp://u:{PW}@mail.example.com?from=a@example.com&dkim_key={KEY}&startls=1", 'unknown option "startls"',
     [PW, KEY]),
]


@pytest.mark.parametrize(("url", "words", "secrets"), REFUSED, ids=[u for u, _, _ in REFUSED])
def test_errors_about_a_channel_url_never_quote_a_credential(url, words, secrets):
    with pytest.raises(ChannelConfigError) as refused:
        open_channel(url)
    assert words in str(refused.value)
    for secret in secrets:
        assert secret not in str(refused.value)


def test_a_bounce_mailbox_url_is_described_without_its_password():
    mailbox = open_mailbox(f"imaps://bounces:{PW}@imap.example.com?timeout=5")
    assert PW not in mailbox.description and "bounces:****@imap.example.com" in mailbox.description


@pytest.mark.parametrize(("name", "secret"), [
    ("extra.AccessKeySecret", True), ("extra.SecretKey", True), ("extra.api_key", True), ("extra.apiKey", True),
    ("extra.x-auth-token", True), ("extra.password", True), ("extra.signature_key", True), ("auth_value", True),
    ("dr_token", True), ("from", False), ("signature", False), ("extra.template_id", False),
    ("extra.AccessKeyId", False), ("dr_token_header", False), ("auth_header", False), ("api_base", False),
])
def test_option_names_that_look_like_credentials(name, secret):
    assert looks_secret(name) is secret


def test_a_description_stored_before_masking_is_masked_when_shown():
    stored = (f"http-sms://u:{PW}@sms.example.com/send?extra.AccessKeySecret={ALIYUN}&extra.template_id=SMS_1"
              f"&api_base=https://x:{PW}@gw.example.com")
    shown = mask_url(stored)
    assert ALIYUN not in shown and PW not in shown
    assert shown.startswith("http-sms://u:****@sms.example.com/send?extra.AccessKeySecret=****&extra.template_id=SMS_1")
    assert mask_url("scripted://test") == "scripted://test" and mask_url("not a url") == "not a url"
