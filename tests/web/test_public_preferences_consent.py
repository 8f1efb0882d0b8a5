"""The preference page (no login, just the signed link) may withdraw consent anywhere but restore it only on
the channel it was reached from, and never a STOP, a bounce or a complaint (issue 11, hole 7)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from audiences import KEYWORD_SOURCE, Consent, ConsentChange, set_consent
from tests.web.test_api import Api
from tests.web.test_public_engagement import page_url
from tests.web.test_public_engagement import sent as sent  # noqa: F401 - the fixture, shared


@pytest.fixture
def client(csrf_client):
    return csrf_client


def _consents(session) -> dict[str, tuple[str, str]]:
    session.expire_all()
    consents = {c.channel: (c.status, c.source) for c in session.scalars(select(Consent))}
    session.rollback()  # SQLite: a transaction holds the write lock (BEGIN IMMEDIATE) the app needs next
    return consents


def _history(session) -> list[tuple[str, str, str]]:
    history = [(c.channel, c.status, c.source)
               for c in session.scalars(select(ConsentChange).order_by(ConsentChange.id))]
    session.rollback()
    return history


def _save(client, config, message_id, channels, topics=()):
    return client.post(page_url(config, message_id), data={"preferences": "1", "channel": list(channels),
                                                           "topic": list(topics)})


def test_an_email_preference_page_cannot_undo_a_stop_texted_from_the_phone(backend, client, config, session, sent,
                                                                          clock):
    set_consent(session, sent["contact"], "sms", "unsubscribed", source=KEYWORD_SOURCE, now=clock.now())
    page = client.get(page_url(config, sent["message"])).get_data(as_text=True)
    assert re.search(r'value="sms"\s+disabled>', page)
    assert "reply START to one of our text messages" in page
    response = _save(client, config, sent["message"], ["email", "sms"])
    assert response.status_code == 400
    assert "cannot be turned back on from this page" in response.get_data(as_text=True)
    assert _consents(session) == {"sms": ("unsubscribed", KEYWORD_SOURCE)}
    assert len(_history(session)) == 1


@pytest.mark.parametrize("status", ["complained", "bounced"])
def test_a_complaint_or_bounce_is_not_flipped_to_subscribed_by_the_page(backend, client, config, session, sent,
                                                                       clock, status):
    set_consent(session, sent["contact"], "email", status, source="ses complaint", now=clock.now())
    response = _save(client, config, sent["message"], ["email", "sms"])
    assert response.status_code == 400
    assert _consents(session) == {"email": (status, "ses complaint")}


def test_the_page_restores_only_the_channel_it_was_reached_from_recording_the_message(
        backend, client, config, session, sent, clock):
    # Both withdrawn by links: email from this (email) message's, SMS from an SMS message's.
    set_consent(session, sent["contact"], "email", "unsubscribed", source="unsubscribe link, campaign 1",
                now=clock.now())
    set_consent(session, sent["contact"], "sms", "unsubscribed", source="unsubscribe link, campaign 2",
                now=clock.now())
    refused = _save(client, config, sent["message"], ["email", "sms"])
    assert refused.status_code == 400  # SMS is restored from an SMS's link: nothing changed, email neither
    assert _consents(session)["email"][0] == "unsubscribed"
    response = _save(client, config, sent["message"], ["email"])
    assert response.status_code == 200, response.get_data(as_text=True)
    source = f"preference page, message {sent['message']}, campaign"
    consents = _consents(session)
    assert consents["email"][0] == "subscribed" and consents["email"][1].startswith(source)
    assert consents["sms"] == ("unsubscribed", "unsubscribe link, campaign 2")
    assert _history(session)[-1][:2] == ("email", "subscribed")


def test_the_page_may_withdraw_any_channel_even_one_it_was_not_reached_from(backend, client, config, session,
                                                                           sent):
    response = _save(client, config, sent["message"], [])
    assert response.status_code == 200
    assert {channel: status for channel, (status, _) in _consents(session).items()} == {
        "email": "unsubscribed", "sms": "unsubscribed"}
    assert all(source.startswith("preference page, message ") for _, _, source in _history(session))


@pytest.mark.parametrize("topic", ["²", "9" * 5000, "-1", "1.0", " 1"])
def test_a_preference_post_with_an_odd_topic_id_is_a_400_with_a_message(backend, client, config, session, sent,
                                                                        topic):
    response = _save(client, config, sent["message"], [], topics=[topic])
    assert response.status_code == 400
    assert "not one this page offers" in response.get_data(as_text=True)
    assert _consents(session) == {}  # nothing saved, not even the channels


def test_only_an_admin_may_undo_a_stop_by_hand(backend, client, session, sent, clock, api_token):
    set_consent(session, sent["contact"], "sms", "unsubscribed", source=KEYWORD_SOURCE, now=clock.now())
    body = {"channel": "sms", "status": "subscribed", "source": "customer called"}
    marketer = Api(client, api_token("marketer"))
    refused = marketer.post(f"/contacts/{sent['contact']}/consent", json=body)
    assert refused.status_code == 403
    assert "START" in refused.json["message"]
    assert _consents(session)["sms"][0] == "unsubscribed"
    admin = Api(client, api_token("admin"))
    assert admin.post(f"/contacts/{sent['contact']}/consent", json=body).status_code == 200
    assert _consents(session)["sms"] == ("subscribed", "customer called")


def test_on_the_contact_page_a_marketer_cannot_undo_a_complaint_but_an_admin_can(backend, app, session, sent, clock,
                                                                                login):
    set_consent(session, sent["contact"], "email", "complained", source="ses complaint", now=clock.now())
    form = {"channel": "email", "status": "subscribed"}
    marketer = app.test_client()
    login(marketer, "marketer")
    refused = marketer.post(f"/contacts/{sent['contact']}/consent", data=form, follow_redirects=True)
    assert "only the contact" in refused.get_data(as_text=True)
    assert _consents(session)["email"][0] == "complained"
    admin = app.test_client()
    login(admin, "admin")
    admin.post(f"/contacts/{sent['contact']}/consent", data=form)
    assert _consents(session)["email"] == ("subscribed", "changed by hand")
