"""POST /webhooks/twilio/status/<message_id>: signed by Twilio against the public URL, forward-only."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

import campaigns
from audiences import create_contact
from campaigns.models import Message, MessageEvent
from tests.conftest import make_config
from web.app import create_app

AUTH_TOKEN = "twilio-auth-token-for-tests"
BASE_URL = "https://herald.example.com"  # the public URL; the test client talks to http://localhost
SMS_URL = f"twilio://AC00000000000000000000000000000001:{AUTH_TOKEN}@default?from=%2B15005550006"


@pytest.fixture
def config(tmp_path, db_url):
    return make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=SMS_URL, HERALD_BASE_URL=BASE_URL)


@pytest.fixture
def client(csrf_client):
    """CSRF stays on, as in production: Twilio cannot send a CSRF token, so the webhook must not need one."""
    return csrf_client


@pytest.fixture
def sent_message(session, clock) -> Message:
    """One SMS the provider accepted (status sent, with Twilio's SID), as the dispatcher leaves it."""
    now = clock.now()
    create_contact(session, default_region="US", now=now, phone="+12015550101", first_name="Ann")
    template = campaigns.create_template(session, name="Hi", channel="sms", body="Hi {{ contact.first_name }}",
                                         now=now)
    campaign = campaigns.create_campaign(session, name="C", channel="sms", template_id=template.id, now=now)
    campaigns.send_campaign(session, campaign.id, now=now, channel_description="twilio://…", dry_run=False)
    message = session.scalars(select(Message)).one()
    message.status, message.provider_id, message.sent_at = "sent", "SM" + "a" * 32, now
    session.commit()
    session.expunge(message)  # a detached snapshot: reading it never begins a transaction that blocks the app
    return message


def callback(message: Message, status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": message.provider_id, "MessageStatus": status, "AccountSid": "AC" + "0" * 31 + "1",
            "From": "+15005550006", "To": message.address or "", "ApiVersion": "2010-04-01", **extra}


def post_signed(client, message: Message, form: dict[str, str], *, signed_url: str | None = None,
                token: str = AUTH_TOKEN):
    path = f"/webhooks/twilio/status/{message.id}"
    signature = RequestValidator(token).compute_signature(signed_url or BASE_URL + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def status_of(session, message: Message) -> str:
    """The message's status as the app left it."""
    try:
        return session.get(Message, message.id, populate_existing=True).status
    finally:
        session.rollback()  # see the app's next commit, and do not hold SQLite's write lock meanwhile


def test_a_signed_delivered_callback_moves_a_sent_message_to_delivered(backend, client, session, sent_message):
    response = post_signed(client, sent_message, callback(sent_message, "delivered"))
    assert response.status_code == 204, response.get_data(as_text=True)
    assert status_of(session, sent_message) == "delivered"
    events = session.scalars(select(MessageEvent.type).where(MessageEvent.message_id == sent_message.id)).all()
    session.rollback()
    assert "delivered" in events


def test_a_bad_signature_is_403_and_changes_nothing(client, session, sent_message):
    response = post_signed(client, sent_message, callback(sent_message, "delivered"), token="someone-elses-token")
    assert response.status_code == 403
    assert response.json["error"] == "WebhookRejected"
    assert "signature" in response.json["message"]
    assert status_of(session, sent_message) == "sent"


def test_a_callback_without_a_signature_is_403(client, session, sent_message):
    response = client.post(f"/webhooks/twilio/status/{sent_message.id}", data=callback(sent_message, "delivered"))
    assert response.status_code == 403
    assert status_of(session, sent_message) == "sent"


def test_the_signature_is_checked_against_the_public_base_url_not_the_url_this_process_saw(client, session,
                                                                                            sent_message):
    """Behind a proxy Herald sees http://internal-host/…, but Twilio signed the public https URL."""
    form = callback(sent_message, "delivered")
    internal = f"http://localhost/webhooks/twilio/status/{sent_message.id}"
    assert post_signed(client, sent_message, form, signed_url=internal).status_code == 403
    assert post_signed(client, sent_message, form).status_code == 204


def test_a_late_sent_after_delivered_leaves_the_message_delivered(backend, client, session, sent_message):
    assert post_signed(client, sent_message, callback(sent_message, "delivered")).status_code == 204
    assert post_signed(client, sent_message, callback(sent_message, "sent")).status_code == 204
    assert status_of(session, sent_message) == "delivered"


def test_an_undelivered_callback_fails_the_message_with_twilios_code(client, session, sent_message):
    form = callback(sent_message, "undelivered", ErrorCode="30003", ErrorMessage="Unreachable destination handset")
    assert post_signed(client, sent_message, form).status_code == 204
    message = session.get(Message, sent_message.id, populate_existing=True)
    outcome = (message.status, message.error_code)
    session.rollback()
    assert outcome == ("failed", "30003")


def test_an_unknown_twilio_status_is_400_naming_it(client, session, sent_message):
    response = post_signed(client, sent_message, callback(sent_message, "teleported"))
    assert response.status_code == 400
    assert "teleported" in response.json["message"]
    assert status_of(session, sent_message) == "sent"


def test_twilio_callbacks_are_404_when_the_sms_channel_is_not_twilio(tmp_path, db_url, clock):
    config = make_config(tmp_path, db_url, HERALD_BASE_URL=BASE_URL)  # SMS goes to log://
    app = create_app(config, clock=clock)
    response = app.test_client().post("/webhooks/twilio/status/1", data={"MessageStatus": "delivered"},
                                      headers={"X-Twilio-Signature": "x"})
    assert response.status_code == 404
    assert "not twilio://" in response.json["message"]
    assert AUTH_TOKEN not in response.get_data(as_text=True)
