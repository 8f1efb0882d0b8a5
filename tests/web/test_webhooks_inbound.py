"""Incoming SMS and status callbacks over real HTTP: the fakes post, signed, to Herald on a loopback port.

Twilio: /webhooks/twilio/inbound answers TwiML; a STOP or 退订 unsubscribes at once; a bad or missing
signature is 403 and changes nothing; status callbacks arrive out of order, twice, with ErrorCode,
Price and NumSegments. http-sms: /webhooks/http-sms/inbound, proved by dr_token, answers through
the gateway.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from audiences import Consent, create_contact
from campaigns import Reply
from campaigns.delivery.sender import make_dispatcher
from campaigns.models import Message, MessageEvent
from channels import RateLimiter, open_channel
from tests.campaigns.factories import start_campaign
from tests.conftest import make_config
from tests.fakes.fake_http_sms import FakeHttpSms
from tests.fakes.fake_twilio import FakeTwilio
from web.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app, port: int) -> Iterator[str]:
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def read(session, query):
    try:
        return session.execute(query).all()
    finally:
        session.expunge_all()  # detached: reading a row later never starts a transaction that blocks the app
        session.rollback()  # see the app's commits, and leave SQLite's write lock to the app


# ---------------------------------------------------------------------- Twilio
@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def config(tmp_path, db_url, fake, port):
    return make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=fake.channel_url(),
                       HERALD_BASE_URL=f"http://127.0.0.1:{port}")


@pytest.fixture
def herald(config, database, clock, port) -> Iterator[str]:
    yield from serve(create_app(config, database=database, clock=clock), port)


@pytest.fixture
def ann(session, clock):
    contact = create_contact(session, default_region="US", now=clock.now(), phone="+12015550101", first_name="Ann")
    session.commit()
    return contact


def send_one_campaign(session, database, config, clock) -> list[Message]:
    _, run = start_campaign(session, now=clock.now())
    channels = {"sms": open_channel(str(config.channels["sms"].url))}
    try:
        make_dispatcher(config, database, channels, RateLimiter("memory://"), clock).dispatch_due()
    finally:
        channels["sms"].close()
    return [row[0] for row in read(session, select(Message).where(Message.run_id == run.id))]


@pytest.mark.parametrize("body", ["STOP", "退订"])
def test_stop_by_sms_unsubscribes_answers_with_twiml_and_the_next_campaign_skips_the_contact(
        backend, herald, fake, session, database, config, clock, ann, body):
    (first,) = send_one_campaign(session, database, config, clock)
    assert first.status == "sent"

    response = fake.send_inbound(f"{herald}/webhooks/twilio/inbound", from_number="+12015550101", body=body)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    assert "<Response><Message>You are unsubscribed" in response.text
    assert read(session, select(Consent.status, Consent.source).where(Consent.contact_id == ann.id)) == [
        ("unsubscribed", "sms-reply")]
    [(contact_id, message_id, classification)] = read(session, select(Reply.contact_id, Reply.message_id,
                                                                      Reply.classification))
    assert (contact_id, message_id, classification) == (ann.id, first.id, "unsubscribe")

    clock.advance(seconds=60)
    (second,) = send_one_campaign(session, database, config, clock)
    assert (second.status, second.error_code) == ("suppressed", "opted_out")
    assert len(fake.messages) == 1  # the second campaign sent nothing


def test_an_inbound_message_with_a_bad_or_missing_signature_is_403_and_changes_nothing(
        herald, fake, session, ann):
    url = f"{herald}/webhooks/twilio/inbound"
    forged = fake.send_inbound(url, from_number="+12015550101", body="STOP", auth_token="someone-elses-token")
    unsigned = fake.send_inbound(url, from_number="+12015550101", body="STOP", signed=False)
    assert (forged.status_code, unsigned.status_code) == (403, 403)
    assert "signature" in forged.json()["message"]
    assert read(session, select(Reply.id)) == []
    assert read(session, select(Consent.id)) == []


def test_a_repeated_inbound_webhook_is_stored_once_and_answered_once(herald, fake, session, ann):
    url = f"{herald}/webhooks/twilio/inbound"
    first = fake.send_inbound(url, from_number="+12015550101", body="HELP", sid="SMhelp1")
    again = fake.send_inbound(url, from_number="+12015550101", body="HELP", sid="SMhelp1")
    assert "<Message>Reply STOP" in first.text
    assert "<Message>" not in again.text and again.status_code == 200
    assert len(read(session, select(Reply.id))) == 1


def test_status_callbacks_out_of_order_and_twice_with_price_segments_and_error_code(
        backend, herald, fake, session, database, config, clock, ann):
    create_contact(session, default_region="US", now=clock.now(), phone="+12015550102", first_name="Bob")
    session.commit()
    first, second = send_one_campaign(session, database, config, clock)
    sid_of = {m["to"]: m["sid"] for m in fake.messages}

    # Ann's: delivered arrives before sent, and delivered arrives twice, with the price and segments.
    assert fake.send_status_callback(sid_of["+12015550101"], "delivered", price="-0.00790", num_segments=2) == 204
    assert fake.send_status_callback(sid_of["+12015550101"], "sent") == 204
    assert fake.send_status_callback(sid_of["+12015550101"], "delivered", price="-0.00790", num_segments=2) == 204
    # Bob's: the carrier says he texted STOP to this sender before (21610): failed, and SMS consent withdrawn.
    assert fake.send_status_callback(sid_of["+12015550102"], "undelivered", error_code=21610) == 204
    assert fake.send_status_callback(sid_of["+12015550102"], "sent") == 204

    rows = {m.contact_id: m for (m,) in read(session, select(Message))}
    ann_message = rows[ann.id]
    bob_message = next(m for cid, m in rows.items() if cid != ann.id)
    assert (ann_message.status, ann_message.cost, ann_message.segments) == ("delivered", Decimal("0.00790"), 2)
    assert (bob_message.status, bob_message.error_code) == ("failed", "21610")
    assert read(session, select(Consent.contact_id, Consent.status)) == [(bob_message.contact_id, "unsubscribed")]
    events = [t for (t,) in read(session, select(MessageEvent.type).where(MessageEvent.message_id == ann_message.id)
                                 .order_by(MessageEvent.id))]
    assert events == ["sent", "delivered", "sent", "delivered"]  # every callback kept, none moved it back


# ---------------------------------------------------------------------- http-sms gateway
@pytest.fixture
def gateway() -> Iterator[FakeHttpSms]:
    with FakeHttpSms() as gateway:
        yield gateway


@pytest.fixture
def gateway_herald(tmp_path, db_url, gateway, database, clock) -> Iterator[str]:
    url = gateway.channel_url(in_id_field="moId", in_from_field="phone", in_to_field="dest",
                              in_text_field="content")
    config = make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=url)
    port = free_port()
    yield from serve(create_app(config, database=database, clock=clock), port)


def test_a_gateway_inbound_stop_unsubscribes_and_the_answer_goes_out_through_the_gateway(
        backend, gateway_herald, gateway, session, ann):
    url = f"{gateway_herald}/webhooks/http-sms/inbound"
    response = gateway.send_inbound(url, phone="+12015550101", content="ＴＤ", mo_id="MO1")
    assert response.status_code == 204, response.text
    assert read(session, select(Consent.status).where(Consent.contact_id == ann.id)) == [("unsubscribed",)]
    assert [(m["phone"], m["content"]) for m in gateway.messages] == [
        ("+12015550101", "You are unsubscribed and will get no more messages. Reply START to subscribe again.")]
    assert gateway.send_inbound(url, phone="+12015550101", content="ＴＤ", mo_id="MO1").status_code == 204
    assert len(gateway.messages) == 1  # a repeated push is not answered twice


def test_a_gateway_inbound_with_a_wrong_token_is_403_and_changes_nothing(gateway_herald, gateway, session, ann):
    url = f"{gateway_herald}/webhooks/http-sms/inbound"
    assert gateway.send_inbound(url, phone="+12015550101", content="STOP", token="guess").status_code == 403
    assert read(session, select(Reply.id)) == [] and read(session, select(Consent.id)) == []
    assert gateway.messages == []
