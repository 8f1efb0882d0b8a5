"""twilio://: the official SDK against the fake Twilio API, and how each of Twilio's answers is classified."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from twilio.rest import Client

from channels import Accepted, Outgoing, Refused, SentQuestion, Sighting, can_look_up, open_channel
from channels.twilio import _HeraldHttpClient, classify
from tests.fakes.fake_twilio import FakeTwilio


def sms(mid: int, to: str = "", body: str = "Spring sale: 20% off", **kw) -> Outgoing:
    return Outgoing(mid, "sms", to or f"+1555123{mid:04d}", body=body, **kw)


def test_api_base_points_the_sdk_at_the_fake(fake_twilio):
    [result] = open_channel(fake_twilio.channel_url()).send([sms(1, "+15551230001", body="Hello")])
    [created] = fake_twilio.messages
    assert result == Accepted(1, provider_id=created["sid"], segments=1)
    assert created["sid"].startswith("SM") and len(created["sid"]) == 34
    assert fake_twilio.requests[0] | {"sid": None} == {
        "To": "+15551230001", "Body": "Hello", "From": "+15005550006", "MessagingServiceSid": None,
        "StatusCallback": None, "IdempotencyKey": None, "sid": None, "http_status": 201}


def test_segments_come_from_twilios_answer(fake_twilio):
    [result] = open_channel(fake_twilio.channel_url()).send([sms(1, body="x" * 200)])
    assert result.segments == 2


def test_status_callback_url_is_sent_per_message(fake_twilio):
    url = "https://herald.example/webhooks/twilio/status/7"
    open_channel(fake_twilio.channel_url()).send([sms(7, status_callback_url=url), sms(8)])
    assert [r["StatusCallback"] for r in fake_twilio.requests] == [url, None]


def test_messaging_service_sid_is_used_when_configured(fake_twilio):
    url = fake_twilio.channel_url(**{"from": None, "messaging_service_sid": "MG" + "a" * 32})
    [result] = open_channel(url).send([sms(1)])
    assert isinstance(result, Accepted)
    request = fake_twilio.requests[0]
    assert (request["MessagingServiceSid"], request["From"]) == ("MG" + "a" * 32, None)
    assert fake_twilio.messages[0]["status"] == "accepted"


def test_invalid_number_21211_is_permanent_with_twilios_code_and_words():
    with FakeTwilio(invalid_numbers={"+15550000000"}) as fake:
        results = open_channel(fake.channel_url()).send([sms(1, "+15550000000"), sms(2)])
    assert isinstance(results[0], Refused)
    assert (results[0].permanent, results[0].code) == (True, "21211")
    assert "The 'To' number +15550000000 is not a valid phone number." in results[0].reason
    assert isinstance(results[1], Accepted)  # a bad number does not stop the batch


def test_429_is_transient_with_retry_after_and_stops_the_batch(fake_twilio):
    fake_twilio.fail_next(1, 429, retry_after=7)
    results = open_channel(fake_twilio.channel_url()).send([sms(1), sms(2), sms(3)])
    assert [(r.message_id, r.permanent, r.code, r.retry_after) for r in results] == [
        (1, False, "20429", 7.0), (2, False, "20429", 7.0), (3, False, "20429", 7.0)]
    assert all(r.throttled for r in results)  # a slow-down, not a failure: no attempt is counted for it
    assert len(fake_twilio.requests) == 1  # hammering a rate-limited API only earns more 429s


@pytest.mark.parametrize(("status", "code"), [(500, "20500"), (503, "20503")])
def test_5xx_is_transient_and_the_next_message_is_still_tried(fake_twilio, status, code):
    fake_twilio.fail_next(1, status)
    results = open_channel(fake_twilio.channel_url()).send([sms(1), sms(2)])
    assert (results[0].permanent, results[0].code, results[0].throttled) == (False, code, False)
    assert isinstance(results[1], Accepted)


def test_timeout_is_transient_and_says_twilio_may_have_it():
    with FakeTwilio(delay_seconds=2) as fake:
        started = time.monotonic()
        results = open_channel(fake.channel_url(timeout="0.3")).send([sms(1), sms(2)])
        assert time.monotonic() - started < 1.5
        assert [(r.permanent, r.code) for r in results] == [(False, "timeout"), (False, "timeout")]
        assert "may or may not have accepted" in results[0].reason
        assert len(fake.messages) == 1  # it did: reconciliation, not a blind resend, must decide


def test_a_dropped_connection_is_transient(fake_twilio):
    channel = open_channel(fake_twilio.channel_url())
    fake_twilio.drop_connections(1)
    results = channel.send([sms(1), sms(2)])
    assert [(r.permanent, r.code) for r in results] == [(False, "connection-error")] * 2
    assert isinstance(channel.send([sms(3)])[0], Accepted)  # the next batch gets a fresh connection


def test_wrong_credentials_are_transient_and_stop_the_batch(fake_twilio):
    url = fake_twilio.channel_url().replace(fake_twilio.auth_token, "wrong-token")
    results = open_channel(url).send([sms(1), sms(2)])
    assert [(r.permanent, r.code) for r in results] == [(False, "20003"), (False, "20003")]
    assert len(fake_twilio.requests) == 0  # refused at the door, nothing recorded


def test_the_channel_keeps_its_session_across_batches_and_close_is_idempotent(fake_twilio):
    channel = open_channel(fake_twilio.channel_url())
    channel.send([sms(1)])
    session = channel._http.session
    channel.send([sms(2)])
    assert channel._http.session is session
    channel.close()
    channel.close()
    assert isinstance(channel.send([sms(3)])[0], Accepted)


CLASSIFICATION = [
    # (Twilio code, HTTP status, permanent?) — https://www.twilio.com/docs/api/errors
    (21211, 400, True),  # invalid To
    (21214, 400, True),  # To cannot be reached
    (21408, 400, True),  # region not enabled
    (21610, 400, True),  # recipient replied STOP
    (21612, 400, True),  # To not reachable from this From
    (21614, 400, True),  # not a mobile number
    (21617, 400, True),  # body too long
    (30003, 400, True),
    (30005, 400, True),
    (30006, 400, True),
    (20429, 429, False),
    (None, 429, False),  # a bare 429
    (20500, 500, False),
    (20503, 503, False),
    (None, 502, False),  # any 5xx
    (29999, 400, True),  # a 4xx code not in the table: permanent
    (20003, 401, False),  # credentials: the operator fixes them, the messages wait
]


@pytest.mark.parametrize(("code", "status", "permanent"), CLASSIFICATION)
def test_classification_table(code, status, permanent):
    assert classify(code, status) is permanent


def test_the_fake_lists_messages_by_recipient_and_date_for_reconciliation(fake_twilio):
    open_channel(fake_twilio.channel_url()).send([sms(1, "+15551230001"), sms(2, "+15551230002")])
    client = Client(fake_twilio.account_sid, fake_twilio.auth_token, environment={},
                    http_client=_HeraldHttpClient(api_base=fake_twilio.url, timeout=5))
    since = datetime.now(UTC) - timedelta(minutes=5)
    found = client.messages.list(to="+15551230001", date_sent_after=since)
    assert [m.to for m in found] == ["+15551230001"]
    assert client.messages.list(to="+15551230001", date_sent_after=datetime.now(UTC) + timedelta(hours=1)) == []
    assert client.messages(found[0].sid).fetch().body == "Spring sale: 20% off"


def test_messages_not_tried_after_a_timeout_say_they_were_not_sent():
    with FakeTwilio(delay_seconds=2) as fake:
        first, second = open_channel(fake.channel_url(timeout="0.3")).send([sms(1), sms(2)])
    assert "may or may not" in first.reason
    assert second.reason.startswith("not sent, an earlier message in the batch got: ")


@pytest.mark.parametrize("how", ["late", "drop"])
def test_an_answer_lost_after_twilio_kept_the_message_is_an_unknown_outcome_the_rest_not_tried(fake_twilio, how):
    fake_twilio.lose_answers(1, how)
    results = open_channel(fake_twilio.channel_url(timeout="0.3")).send([sms(1), sms(2)])
    assert [(r.permanent, r.outcome_unknown) for r in results] == [(False, True), (False, False)]
    assert results[1].reason.startswith("not sent, an earlier message")
    assert [m["to"] for m in fake_twilio.messages] == [sms(1).to]  # Twilio has the first one


def test_a_connection_that_cannot_be_made_is_certainly_not_sent():
    with FakeTwilio() as fake:
        url = fake.channel_url()
    # The fake is stopped: its port refuses connections, so nothing can have been sent.
    [result] = open_channel(url).send([sms(1)])
    assert (result.code, result.outcome_unknown) == ("connection-error", False) and "not sent" in result.reason


def test_an_idempotency_key_is_sent_as_a_header_so_an_api_that_honours_it_sends_once():
    with FakeTwilio(honour_idempotency_key=True) as fake:
        channel = open_channel(fake.channel_url())
        first = channel.send([sms(1, idempotency_key="herald.1@example.com")])
        again = channel.send([sms(1, idempotency_key="herald.1@example.com")])
        other = channel.send([sms(2, idempotency_key="herald.2@example.com")])
    assert [r["IdempotencyKey"] for r in fake.requests] == ["herald.1@example.com"] * 2 + ["herald.2@example.com"]
    assert first[0].provider_id == again[0].provider_id != other[0].provider_id
    assert len(fake.messages) == 2


def test_look_up_lists_what_twilio_took_for_each_number_since_a_time(fake_twilio, closed_port):
    channel = open_channel(fake_twilio.channel_url())
    channel.send([sms(1, "+15551230001", body="Hello Ann"), sms(2, "+15551230002", body="Hello Bo")])
    since = datetime.now(UTC) - timedelta(minutes=5)
    questions = [SentQuestion(1, "+15551230001", "Hello Ann", since), SentQuestion(3, "+15551230003", "Hi", since),
                 SentQuestion(2, "+15551230002", "Hello Bo", datetime.now(UTC) + timedelta(minutes=5))]
    found = channel.look_up(questions)
    [ann] = [m for m in fake_twilio.messages if m["to"] == "+15551230001"]
    assert found == {1: [Sighting(ann["sid"], "Hello Ann", segments=1)], 3: [], 2: []}  # 2: sent before `since`
    unreachable = open_channel(fake_twilio.channel_url(api_base=f"http://127.0.0.1:{closed_port}"))
    assert unreachable.look_up(questions) == {}  # not asked: no answer, not "nothing found"
    assert can_look_up(channel) and not can_look_up(open_channel("smtp://127.0.0.1:25?from=a@example.com"))
