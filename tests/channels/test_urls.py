"""Channel URLs as a table: each URL opens the right adapter, or fails with a message that names the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels import ChannelConfigError, open_channel
from channels.log import LogChannel
from channels.smtp import SmtpChannel
from channels.twilio import TwilioChannel, twilio_auth_token

TOKEN = "s3cr3t-auth-token"

OPENS = [
    ("log://var/outbox", LogChannel),
    ("log:///srv/herald/outbox", LogChannel),
    ("log://var/outbox?rate=50/second", LogChannel),
    ("smtp://mail.example.com?from=news@example.com", SmtpChannel),
    ("smtp://mailer:pw@mail.example.com:2525?starttls=1&from=news@example.com&timeout=5&helo=herald.example.com",
     SmtpChannel),
    ("smtp://mail.example.com?ssl=1&from=News%20Team%20%3Cnews@example.com%3E", SmtpChannel),
    (f"twilio://AC123:{TOKEN}@default?from=+15551234567", TwilioChannel),
    (f"twilio://AC123:{TOKEN}@default?messaging_service_sid=MG0123", TwilioChannel),
    (f"twilio://AC123:{TOKEN}@default?from=+15551234567&timeout=3&rate=1/second", TwilioChannel),
    (f"twilio://AC123:{TOKEN}@signalwire?from=+15551234567&api_base=https://ex.signalwire.com/api/laml",
     TwilioChannel),
]

REFUSES = [
    ("twillio://AC123:tok@default?from=+1555",
     'unknown scheme "twillio"; known schemes: aliyun-sms, http-sms, https-email, log, smtp, tencent-sms, twilio'),
    ("var/outbox", "has no scheme"),
    ("log://", "names no directory"),
    ("log://var/outbox?rate=fast", 'rate="fast" is not a rate'),
    ("log://var/outbox?colour=red", 'unknown option "colour"'),
    ("smtp://mail.example.com", "no sender address; add from="),
    ("smtp://mail.example.com?startls=1&from=a@example.com", 'unknown option "startls"; smtp:// knows: starttls'),
    ("smtp://mail.example.com?ssl=1&starttls=1&from=a@example.com", "both ssl=1 and starttls=1"),
    ("smtp://mail.example.com?starttls=maybe&from=a@example.com", "starttls='maybe' is not a yes/no value"),
    ("smtp://mail.example.com?timeout=0&from=a@example.com", "timeout='0' must be a positive number"),
    ("smtp://mail.example.com:99999?from=a@example.com", "port that is not a number"),
    ("smtp://?from=a@example.com", "has no host"),
    (f"twilio://AC123:{TOKEN}@default", "neither who sends nor through what; add from=+15551234567"),
    ("twilio://AC123@default?from=+15551234567", "lacks the account SID or auth token"),
    (f"twilio://AC123:{TOKEN}@api.signalwire.com?from=+1555", "add api_base=https://api.signalwire.com"),
    (f"twilio://AC123:{TOKEN}@default?from=+1555&api_base=ftp://example.com", "api_base must be an http(s):// URL"),
    (f"twilio://AC123:{TOKEN}@default?from=+1555&rate=10/fortnight", "is not a rate"),
]


@pytest.mark.parametrize(("url", "adapter"), OPENS, ids=[u for u, _ in OPENS])
def test_url_opens_the_adapter_for_its_scheme(url, adapter):
    channel = open_channel(url)
    assert type(channel) is adapter
    assert TOKEN not in channel.describe() and "pw@" not in channel.describe()


@pytest.mark.parametrize(("url", "message"), REFUSES, ids=[u for u, _ in REFUSES])
def test_bad_url_is_refused_with_the_fix(url, message):
    with pytest.raises(ChannelConfigError) as info:
        open_channel(url)
    text = str(info.value)
    assert message in text
    assert TOKEN not in text  # errors are logged and shown: never a secret in them
    assert "check config.toml" in text


def test_error_names_the_setting_it_came_from():
    with pytest.raises(ChannelConfigError, match=r"\[channels.sms\] url or HERALD_CHANNELS_SMS_URL"):
        open_channel("twillio://x", setting="sms")


def test_a_plus_in_a_phone_number_stays_a_plus():
    # Form decoding would turn "+1555…" into " 1555…", and Twilio would refuse every message.
    assert open_channel(f"twilio://AC1:{TOKEN}@default?from=+15551234567").from_number == "+15551234567"
    assert open_channel(f"twilio://AC1:{TOKEN}@default?from=%2B15551234567").from_number == "+15551234567"


def test_log_path_is_relative_to_the_working_directory_or_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert open_channel("log://var/Outbox").directory == tmp_path / "var" / "Outbox"
    assert open_channel(f"log://{tmp_path}/abs").directory == Path(f"{tmp_path}/abs")


def test_smtp_ports_default_by_security_mode():
    base = "smtp://mail.example.com?from=a@example.com"
    assert open_channel(base).port == 25
    assert open_channel(base + "&starttls=1").port == 587
    assert open_channel(base + "&ssl=1").port == 465
    assert open_channel("smtp://mail.example.com:2525?from=a@example.com").port == 2525


def test_from_address_is_the_sender_when_the_url_has_none():
    channel = open_channel("smtp://mail.example.com", from_address="Herald <herald@example.com>")
    assert channel.from_address == "Herald <herald@example.com>"
    assert channel.envelope_from == "herald@example.com"
    assert open_channel("smtp://h?from=x@example.com", from_address="y@example.com").from_address == "x@example.com"


def test_each_adapter_declares_a_default_rate_that_the_url_can_override():
    assert open_channel("log://var/outbox").rate == "1000/second"
    assert open_channel("smtp://h?from=a@example.com").rate == "10/second"
    assert open_channel(f"twilio://AC1:{TOKEN}@default?from=+1555").rate == "10/second"
    assert open_channel(f"twilio://AC1:{TOKEN}@default?from=+1555&rate=1/second").rate == "1/second"


def test_describe_masks_passwords_and_tokens():
    assert open_channel("smtp://mailer:hunter2@mail.example.com?from=a@example.com").describe() == (
        "smtp://mailer:****@mail.example.com?from=a@example.com"
    )
    assert open_channel(f"twilio://AC1:{TOKEN}@default?from=+1555").describe() == (
        "twilio://AC1:****@default?from=+1555"
    )


def test_twilio_auth_token_reads_the_token_for_the_webhook_view():
    assert twilio_auth_token(f"twilio://AC1:{TOKEN}@default?from=+1555") == TOKEN
    with pytest.raises(ChannelConfigError):
        twilio_auth_token("log://var/outbox")
