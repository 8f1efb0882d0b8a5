"""Twilio status callbacks are answered in front of Flask (web.status_callbacks); its own edges."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from campaigns.models import MessageEvent
from tests.web import test_webhooks
from tests.web.test_webhooks import callback, post_signed, status_of

# The status webhook's own fixtures: its Twilio channel and public URL, CSRF on, one sent SMS.
config, client, sent_message = test_webhooks.config, test_webhooks.client, test_webhooks.sent_message


def test_a_form_sent_as_json_is_no_callback_and_is_refused(client, session, sent_message):
    path = f"/webhooks/twilio/status/{sent_message.id}"
    response = client.post(path, json=callback(sent_message, "delivered"), headers={"X-Twilio-Signature": "x"})
    assert response.status_code == 403
    assert response.json["error"] == "WebhookRejected"
    assert status_of(session, sent_message) == "sent"


def test_a_body_no_status_callback_has_is_413(client, session, sent_message):
    form = callback(sent_message, "delivered", Padding="x" * 70_000)
    response = post_signed(client, sent_message, form)
    assert response.status_code == 413
    assert "KiB" in response.json["message"]
    assert status_of(session, sent_message) == "sent"


def test_only_a_post_to_a_message_is_a_status_callback(client, sent_message):
    refused = client.get(f"/webhooks/twilio/status/{sent_message.id}")
    assert (refused.status_code, refused.headers["Allow"]) == (405, "POST")
    assert client.post("/webhooks/twilio/status/not-a-number", data={}).status_code == 404
    assert client.post(f"/webhooks/twilio/status/{sent_message.id}/", data={}).status_code == 404


def test_a_query_string_is_part_of_the_signed_url(client, session, sent_message):
    path = f"/webhooks/twilio/status/{sent_message.id}?attempt=2"
    form = callback(sent_message, "delivered")
    signature = RequestValidator(test_webhooks.AUTH_TOKEN).compute_signature(test_webhooks.BASE_URL + path, form)
    assert client.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code == 204
    assert status_of(session, sent_message) == "delivered"


def test_a_failure_outside_testing_is_a_json_500_and_logged(app, database, session, sent_message, caplog):
    app.config["TESTING"] = False  # as in production: answer, do not raise
    with database.session() as s:  # a table gone missing: nothing the callback can do about it
        s.execute(text("ALTER TABLE message_events RENAME TO message_events_gone"))
        s.commit()
    try:
        response = post_signed(app.test_client(), sent_message, callback(sent_message, "delivered"))
    finally:
        with database.session() as s:
            s.execute(text("ALTER TABLE message_events_gone RENAME TO message_events"))
            s.commit()
    assert response.status_code == 500
    assert response.json["error"] == "InternalServerError"
    assert "event=webhook_failed" in caplog.text
    assert status_of(session, sent_message) == "sent"  # nothing half-applied


@pytest.mark.parametrize("backend", ["postgres"])
def test_duplicates_and_late_callbacks_stay_harmless_on_postgres(backend, client, session, sent_message):
    for status in ("delivered", "sent", "delivered"):
        assert post_signed(client, sent_message, callback(sent_message, status, Price="-0.0079",
                                                          PriceUnit="USD", NumSegments="1")).status_code == 204
    assert status_of(session, sent_message) == "delivered"
    types = session.scalars(select(MessageEvent.type).where(MessageEvent.message_id == sent_message.id)
                            .order_by(MessageEvent.id)).all()
    session.rollback()
    assert types[-3:] == ["delivered", "sent", "delivered"]  # every callback recorded, none moved it back


def test_a_chunked_callback_is_read_to_its_end(client, session, sent_message):
    form = callback(sent_message, "delivered")
    path = f"/webhooks/twilio/status/{sent_message.id}"
    signature = RequestValidator(test_webhooks.AUTH_TOKEN).compute_signature(test_webhooks.BASE_URL + path, form)
    body = urlencode(form).encode()
    response = client.post(path, environ_overrides={"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True,
                                                    "CONTENT_TYPE": "application/x-www-form-urlencoded"},
                           headers={"X-Twilio-Signature": signature, "Transfer-Encoding": "chunked"})
    assert response.status_code == 204, response.get_data(as_text=True)
    assert status_of(session, sent_message) == "delivered"
