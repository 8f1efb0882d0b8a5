"""Twilio status callbacks: the signature is checked, every status is mapped, an unknown one is refused by name."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator

from channels import ChannelEvent, Outgoing, WebhookRejected, open_channel, parse_twilio_webhook
from tests.fakes.fake_twilio import FakeTwilio

TOKEN = "webhook-auth-token"
URL = "https://herald.example/webhooks/twilio/status/42"


def callback(status: str = "delivered", **extra: str) -> dict[str, str]:
    return {"MessageSid": "SM" + "1" * 32, "SmsSid": "SM" + "1" * 32, "AccountSid": "AC" + "2" * 32,
            "From": "+15005550006", "To": "+15551230001", "MessageStatus": status, "SmsStatus": status,
            "ApiVersion": "2010-04-01"} | extra


def signed(form: dict[str, str], url: str = URL, token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


def parse(form: dict[str, str], headers: dict[str, str] | None = None, url: str = URL) -> list[ChannelEvent]:
    return parse_twilio_webhook(url=url, form=form, headers=signed(form) if headers is None else headers,
                                auth_token=TOKEN)


STATUSES = [
    ("accepted", "queued"), ("scheduled", "queued"), ("queued", "queued"), ("sending", "queued"),
    ("sent", "sent"), ("delivered", "delivered"), ("undelivered", "failed"), ("failed", "failed"), ("read", "read"),
]


@pytest.mark.parametrize(("twilio_status", "herald_status"), STATUSES)
def test_every_twilio_status_is_mapped(twilio_status, herald_status):
    [event] = parse(callback(twilio_status))
    assert (event.status, event.provider_status) == (herald_status, twilio_status)
    assert event.provider_id == "SM" + "1" * 32
    assert event.message_id == 42  # from the callback URL Herald gave Twilio


@pytest.mark.parametrize("status", ["canceled", "partially_delivered", "receiving", "DELIVERED"])
def test_an_unknown_status_is_rejected_naming_it(status):
    with pytest.raises(WebhookRejected) as info:
        parse(callback(status))
    assert f'"{status}"' in str(info.value)
    assert info.value.http_status == 400


def test_a_missing_status_or_sid_is_rejected():
    form = callback()
    del form["MessageStatus"], form["SmsStatus"]
    with pytest.raises(WebhookRejected, match="no MessageStatus"):
        parse(form)
    form = callback()
    del form["MessageSid"], form["SmsSid"]
    with pytest.raises(WebhookRejected, match="no MessageSid"):
        parse(form)


def test_a_missing_signature_is_403():
    with pytest.raises(WebhookRejected, match="without an X-Twilio-Signature") as info:
        parse(callback(), headers={})
    assert info.value.http_status == 403


@pytest.mark.parametrize("forgery", ["other token", "other url", "tampered form"])
def test_a_wrong_signature_is_403(forgery):
    form = callback("delivered")
    headers = {
        "other token": signed(form, token="someone-elses-token"),
        "other url": signed(form, url="https://herald.example/webhooks/twilio/status/43"),
        "tampered form": signed(callback("failed")),
    }[forgery]
    with pytest.raises(WebhookRejected, match="signature that does not match") as info:
        parse(form, headers)
    assert info.value.http_status == 403


def test_header_names_are_case_insensitive():
    form = callback()
    assert parse(form, {"x-twilio-signature": signed(form)["X-Twilio-Signature"]})


def test_price_is_stored_as_a_positive_cost():
    [event] = parse(callback("delivered", Price="-0.00750", PriceUnit="USD", NumSegments="2"))
    assert (event.price, event.currency, event.segments) == (Decimal("0.00750"), "USD", 2)


def test_no_price_means_no_cost_and_no_currency():
    [event] = parse(callback("sent", PriceUnit="USD"))
    assert (event.price, event.currency, event.segments) == (None, None, None)


def test_error_code_keeps_twilios_message_or_the_dictionary_title():
    [with_text] = parse(callback("failed", ErrorCode="30007", ErrorMessage="Carrier filtered the message"))
    assert (with_text.error_code, with_text.error_reason) == ("30007", "Carrier filtered the message")
    [without_text] = parse(callback("undelivered", ErrorCode="30003"))
    assert (without_text.error_code, without_text.error_reason) == ("30003", "Unreachable destination handset")
    [unknown] = parse(callback("failed", ErrorCode="39999"))
    assert (unknown.error_code, unknown.error_reason) == ("39999", None)


def test_a_callback_url_without_a_message_id_still_parses():
    url = "https://herald.example/webhooks/twilio/status"
    form = callback()
    [event] = parse(form, signed(form, url=url), url=url)
    assert event.message_id is None and event.provider_id


# ---------------------------------------------------------------- end to end with the fake's callbacks
class _Receiver(BaseHTTPRequestHandler):
    """A stand-in for Herald's webhook view: check, parse, answer 204 or the rejection's status."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        url = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
        try:
            events = parse_twilio_webhook(url=url, form=dict(parse_qsl(body)), headers=dict(self.headers),
                                          auth_token=self.server.auth_token)
            self.server.events.extend(events)
            status = 204
        except WebhookRejected as exc:
            status = exc.http_status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.events = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_fakes_signed_callbacks_are_accepted_and_forged_ones_refused(receiver):
    base = f"http://127.0.0.1:{receiver.server_address[1]}/webhooks/twilio/status"
    with FakeTwilio() as fake:
        receiver.auth_token = fake.auth_token
        channel = open_channel(fake.channel_url())
        channel.send([Outgoing(5, "sms", "+15551230005", "Hi", status_callback_url=f"{base}/5"),
                      Outgoing(6, "sms", "+15551230006", "你好", status_callback_url=f"{base}/6"),
                      Outgoing(7, "sms", "+15551230007", "no callback wanted")])
        assert fake.send_status_callbacks("delivered", price="-0.00750", with_segments=True) == [204, 204]
        assert fake.send_status_callbacks("undelivered", only={"+15551230006"}) == [204]
        assert fake.send_status_callbacks("sent", auth_token="not-the-token") == [403, 403]
    by_message = [(e.message_id, e.status, e.price, e.segments, e.error_code) for e in receiver.events]
    assert by_message == [(5, "delivered", Decimal("0.00750"), 1, None), (6, "delivered", Decimal("0.00750"), 1, None),
                          (6, "failed", None, None, "30003")]
